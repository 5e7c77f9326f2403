// Package doccheck holds no code, only a test that keeps the section references of the repository
// honest: every "§N" or "§N.M" in a source or document file must name a heading of docs/protocol.md,
// and a reference to the protocol write-up must spell its path out as docs/protocol.md.
package doccheck
