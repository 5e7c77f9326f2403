package client

import (
	"context"
	"encoding/json"
)

// REST calls one Bitrix24 REST method through the app's own session.
//
// Call returns the whole JSON answer as the portal sent it ({"result": …, "time": …}). A Bitrix error
// answer is returned as a *protocol.RESTError carrying the code and description; a transport failure
// as any other error. Params are the method's parameters (strings, numbers, booleans, maps, slices).
// Call must honour ctx: when it is done, Call returns ctx.Err() promptly.
type REST interface {
	Call(ctx context.Context, method string, params map[string]any) (json.RawMessage, error)
}

// RESTFunc adapts a function to REST.
type RESTFunc func(ctx context.Context, method string, params map[string]any) (json.RawMessage, error)

// Call implements REST.
func (f RESTFunc) Call(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
	return f(ctx, method, params)
}
