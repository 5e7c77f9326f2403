package session

import "strconv"

func protocolFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
