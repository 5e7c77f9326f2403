//go:build js && wasm

package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/b24pull/b24pull/client"
	"github.com/b24pull/b24pull/protocol"
	"github.com/b24pull/b24pull/session"
)

// Version is the b24pull version reported to JavaScript. The build sets it from js/package.json, the
// one place the version is written (scripts/build-wasm.sh, -ldflags -X); a build without it says dev.
var Version = "dev"

// module holds the module-level js.Funcs: the exports and the stand-ins a destroyed client's methods
// are replaced with. They live as long as the Go program.
type module struct {
	reg       *funcRegistry
	obj       js.Value           // the module object Export returns
	destroyed map[string]js.Func // method name → stand-in
}

// Export builds the module object the loader reads: {version, newClient(options), runtimeStats()}.
// It is meant to be called once, by main.
//
// newClient(options) returns a client object (see newClient), or an Error with code INVALID_ARGUMENT
// when the options are unusable: Go cannot throw into JavaScript, so the loader throws it.
// runtimeStats() returns {jsFuncs, goroutines, heapLive, gcCycles} for the whole program (see
// heapMetrics): what a leak test watches.
func Export() js.Value { return newModule().obj }

// newModule builds the module object and the stand-ins.
func newModule() *module {
	m := &module{reg: newFuncRegistry(), destroyed: make(map[string]js.Func)}
	obj := js.Global().Get("Object").New()
	m.obj = obj
	obj.Set("version", Version)
	obj.Set("newClient", m.mustFunc(func(_ js.Value, args []js.Value) any {
		return m.newClient(arg(args, 0))
	}))
	obj.Set("runtimeStats", m.mustFunc(func(js.Value, []js.Value) any {
		o := js.Global().Get("Object").New()
		o.Set("jsFuncs", LiveFuncs())
		o.Set("goroutines", runtime.NumGoroutine())
		heap := heapMetrics()
		o.Set("heapLive", heap.live)
		o.Set("gcCycles", heap.cycles)
		return o
	}))
	async := m.mustFunc(func(js.Value, []js.Value) any { return rejectedPromise(errDestroyed) })
	done := m.mustFunc(func(js.Value, []js.Value) any { return js.Global().Get("Promise").Call("resolve") })
	for _, name := range []string{"loadConfig", "start", "restart", "reconnect", "sendMessage", "sendMessageToChannels", "getUsersLastSeen",
		"listChannels", "ping", "subscribeUserStatusChange", "unsubscribeUserStatusChange"} {
		m.destroyed[name] = async
	}
	no := m.mustFunc(func(js.Value, []js.Value) any { return false })
	m.destroyed["isPublishingEnabled"] = no
	m.destroyed["isPublishingSupported"] = no
	for _, name := range []string{"stop", "destroy"} {
		m.destroyed[name] = done
	}
	m.destroyed["getStatus"] = m.mustFunc(func(js.Value, []js.Value) any { return "offline" })
	m.destroyed["configValue"] = m.mustFunc(func(js.Value, []js.Value) any { return js.Null() })
	m.destroyed["facts"] = m.mustFunc(func(js.Value, []js.Value) any { return factsValue(client.Facts{}) })
	nothing := m.mustFunc(func(js.Value, []js.Value) any { return js.Undefined() })
	m.destroyed["setLastMessageId"] = nothing
	m.destroyed["network"] = nothing
	m.destroyed["getStats"] = m.mustFunc(func(js.Value, []js.Value) any {
		return statsValue(client.Stats{Status: "offline"})
	})
	m.destroyed["getDebugInfo"] = m.mustFunc(func(js.Value, []js.Value) any {
		return js.Global().Get("Object").New()
	})
	return m
}

// mustFunc registers a module func; the module registry is never released, so add cannot fail.
func (m *module) mustFunc(fn func(this js.Value, args []js.Value) any) js.Func {
	f, _, err := m.reg.add(fn)
	if err != nil {
		panic(err)
	}
	return f
}

// jsClient is one exported client: the Go client, the JS object wrapping it and everything it owns.
type jsClient struct {
	mod     *module
	c       *client.Client
	reg     *funcRegistry
	obj     js.Value
	onBatch js.Value
	ctx     context.Context // ends at destroy: pending calls end with it
	cancel  context.CancelFunc
	dead    atomic.Bool
}

// newClient builds a client from options {rest?, onBatch?, debug?, onLog?, secure?,
// disableWebSocket?, restTimeout?, sendTimeout?, startTimeout?, timing?, prefetch?} and returns its JS object, whose methods are:
//
//	loadConfig({cache = true, reopen = false}) → Promise<object>  one config call (the result object)
//	configValue() → object | null              the config in use
//	facts() → object                           client.Facts: what the official getters tell
//	start(configText?) → Promise<true>         resolves once online; from the app's config when given
//	stop(code?, reason?) → Promise<void>       resolves once every goroutine of the client ended
//	restart(code?, reason?), reconnect(code?, reason?, delaySeconds?) → Promise<void>
//	setLastMessageId(mid), network(online)     the resume position; the browser's online/offline
//	destroy() → Promise<void>                  terminal; releases every func of the client
//	getStatus() → 'online' | 'offline' | 'connect'
//	getStats() → object                        client.Stats + jsFuncs, runtimeGoroutines
//	getDebugInfo() → object                    redacted connection facts
//	sendMessage(text), sendMessageToChannels(text) → Promise  publish (publish_js.go)
//	isPublishingEnabled(), isPublishingSupported() → boolean
//	getUsersLastSeen(text), listChannels(), ping(seconds) → Promise  JSON-RPC presence
//	subscribeUserStatusChange(id), unsubscribeUserStatusChange(id) → Promise<void>
//
// prefetch is the loader's config call started before the runtime was ready (see prefetch): the
// first config load of the client uses its outcome instead of calling again.
//
// onBatch(text) receives the JSON text of the events of one frame, or of several frames that arrived
// back to back. After destroy the methods are replaced: getConfig and start reject with DESTROYED,
// stop and destroy resolve, the getters answer as for an offline client.
func (m *module) newClient(options js.Value) (result js.Value) {
	defer func() {
		if p := recover(); p != nil {
			result = newJSError(CodeInternal, "internal error: "+panicText(p), 0)
		}
	}()
	jc, err := m.build(options)
	if err != nil {
		return jsError(err)
	}
	return jc.export()
}

// build reads options and makes the client behind a JS object.
func (m *module) build(options js.Value) (*jsClient, error) {
	if options.IsUndefined() || options.IsNull() {
		options = js.Global().Get("Object").New()
	}
	if options.Type() != js.TypeObject {
		return nil, &Error{Code: CodeInvalidArgument, Description: "options must be an object"}
	}
	jc := &jsClient{mod: m, reg: newFuncRegistry(), onBatch: prop(options, "onBatch")}
	if t := jc.onBatch.Type(); t != js.TypeFunction && t != js.TypeUndefined && t != js.TypeNull {
		return nil, &Error{Code: CodeInvalidArgument, Description: "onBatch must be a function"}
	}
	logf := logger(options)
	restOpts := restOptions{Logf: logf, Prefetch: prop(options, "prefetch")}
	if t := prop(options, "restTimeout"); t.Type() == js.TypeNumber && t.Float() > 0 {
		restOpts.Timeout = time.Duration(t.Float() * float64(time.Millisecond))
	}
	rest, err := newREST(jc.reg, prop(options, "rest"), restOpts)
	if err != nil {
		jc.reg.releaseAll()
		return nil, err
	}
	secure := false
	if loc := js.Global().Get("location"); loc.Type() == js.TypeObject {
		secure = prop(loc, "protocol").Type() == js.TypeString && prop(loc, "protocol").String() == "https:"
	}
	if s := prop(options, "secure"); s.Type() == js.TypeBoolean {
		secure = s.Bool()
	}
	var timing *session.Timing
	if t := prop(options, "timing"); t.Type() == js.TypeObject {
		tm := session.DefaultTiming()
		if err := applyTiming(&tm, []byte(js.Global().Get("JSON").Call("stringify", t).String())); err != nil {
			jc.reg.releaseAll()
			return nil, &Error{Code: CodeInvalidArgument, Description: err.Error()}
		}
		timing = &tm
	} else if t.Type() != js.TypeUndefined && t.Type() != js.TypeNull {
		jc.reg.releaseAll()
		return nil, &Error{Code: CodeInvalidArgument, Description: "timing must be an object"}
	}
	if t := prop(options, "startTimeout"); t.Type() == js.TypeNumber && t.Float() > 0 {
		// How long start() waits to be online, retries of a failing config call included.
		if timing == nil {
			tm := session.DefaultTiming()
			timing = &tm
		}
		timing.StartTimeout = time.Duration(t.Float() * float64(time.Millisecond))
	}
	var sendTimeout time.Duration
	if t := prop(options, "sendTimeout"); t.Type() == js.TypeNumber && t.Float() > 0 {
		sendTimeout = time.Duration(t.Float() * float64(time.Millisecond))
	}
	jc.ctx, jc.cancel = context.WithCancel(context.Background())
	jc.c = client.New(client.Options{
		Timing:           timing,
		LongPoller:       fetchPoller{reg: jc.reg},
		REST:             rest,
		Secure:           secure,
		OnEvents:         jc.deliver,
		Logf:             logf,
		DisableWebSocket: prop(options, "disableWebSocket").Truthy(),
		SendTimeout:      sendTimeout,
	})
	return jc, nil
}

// export builds the client's JS object.
func (jc *jsClient) export() js.Value {
	jc.obj = js.Global().Get("Object").New()
	methods := map[string]func(args []js.Value) any{
		"loadConfig":  jc.loadConfig,
		"configValue": func([]js.Value) any { return jsonOrNull(jc.c.ConfigJSON()) },
		"facts":       func([]js.Value) any { return factsValue(jc.c.Facts()) },
		"start":       jc.start,
		"stop":        jc.stop,
		"restart":     jc.restart,
		"reconnect":   jc.reconnect,
		"network": func(args []js.Value) any {
			jc.c.Network(arg(args, 0).Truthy())
			return js.Undefined()
		},
		"setLastMessageId": func(args []js.Value) any {
			if a := arg(args, 0); a.Type() == js.TypeString {
				jc.c.SetLastMessageID(a.String())
			} else if a.Type() == js.TypeNull || a.Type() == js.TypeUndefined {
				jc.c.SetLastMessageID("")
			}
			return js.Undefined()
		},
		"destroy":      jc.destroy,
		"getStatus":    func([]js.Value) any { return jc.c.Status() },
		"getStats":     func([]js.Value) any { return statsValue(jc.c.Stats()) },
		"getDebugInfo": func([]js.Value) any { return jsonValue(jc.c.DebugInfo()) },

		"sendMessage":                 jc.sendMessage,
		"sendMessageToChannels":       jc.sendMessageToChannels,
		"isPublishingEnabled":         func([]js.Value) any { return jc.c.PublishingEnabled() },
		"isPublishingSupported":       func([]js.Value) any { return jc.c.PublishingSupported() },
		"getUsersLastSeen":            jc.getUsersLastSeen,
		"listChannels":                jc.listChannels,
		"ping":                        jc.ping,
		"subscribeUserStatusChange":   jc.subscribeUserStatus,
		"unsubscribeUserStatusChange": jc.unsubscribeUserStatus,
	}
	for name, fn := range methods {
		f, _, err := jc.reg.add(func(_ js.Value, args []js.Value) any { return fn(args) })
		if err != nil {
			return jsError(err)
		}
		jc.obj.Set(name, f)
	}
	return jc.obj
}

// loadConfig implements loadConfig({cache, reopen}): one pull.application.config.get call.
func (jc *jsClient) loadConfig(args []js.Value) any {
	cache, reopen := true, false
	if o := arg(args, 0); o.Type() == js.TypeObject {
		if v := prop(o, "cache"); v.Type() == js.TypeBoolean {
			cache = v.Bool()
		}
		reopen = prop(o, "reopen").Truthy()
	}
	return newPromise(jc.reg, func() (any, error) {
		text, err := jc.c.GetConfig(jc.ctx, cache, reopen)
		if err != nil {
			return nil, jc.failure("failed to get the config", err)
		}
		return jsonValue(text), nil
	})
}

// start implements start(configText?): from the config the app gives (JSON text), or loading one.
func (jc *jsClient) start(args []js.Value) any {
	var answer []byte
	if a := arg(args, 0); a.Type() == js.TypeString {
		answer = []byte(a.String())
	}
	return newPromise(jc.reg, func() (any, error) {
		var err error
		if answer != nil {
			err = jc.c.StartWith(jc.ctx, answer)
			if errors.Is(err, protocol.ErrInvalidConfig) {
				// The app's own config cannot be used: the caller's argument, not a portal failure.
				return nil, &Error{Code: CodeInvalidArgument, Description: "start(config): " + err.Error(), Err: err}
			}
		} else {
			err = jc.c.Start(jc.ctx)
		}
		if err != nil {
			return nil, jc.failure("failed to start", err)
		}
		return true, nil
	})
}

// closeArgs reads (code, reason) with the official defaults.
func closeArgs(args []js.Value, reason string) (int, string) {
	code := session.CloseNormal
	if a := arg(args, 0); a.Type() == js.TypeNumber {
		code = a.Int()
	}
	if a := arg(args, 1); a.Type() == js.TypeString {
		reason = a.String()
	}
	return code, reason
}

// restart implements restart(code = 1000, reason = 'manual restart').
func (jc *jsClient) restart(args []js.Value) any {
	code, reason := closeArgs(args, "manual restart")
	return newPromise(jc.reg, func() (any, error) {
		if err := jc.c.Restart(jc.ctx, code, reason); err != nil {
			return nil, jc.failure("failed to restart", err)
		}
		return js.Undefined(), nil
	})
}

// reconnect implements reconnect(code, reason, delay = 1 s).
func (jc *jsClient) reconnect(args []js.Value) any {
	code, reason := closeArgs(args, "reconnect")
	delay := time.Second
	if a := arg(args, 2); a.Type() == js.TypeNumber && a.Float() >= 0 {
		delay = time.Duration(a.Float() * float64(time.Second))
	}
	return newPromise(jc.reg, func() (any, error) {
		if err := jc.c.Reconnect(jc.ctx, code, reason, delay); err != nil {
			return nil, jc.failure("failed to reconnect", err)
		}
		return js.Undefined(), nil
	})
}

// failure wraps err for JavaScript; a call that destroy() ended reports DESTROYED, whatever the
// client answered (ErrStopped, a canceled context).
func (jc *jsClient) failure(what string, err error) error {
	if jc.dead.Load() {
		return errDestroyed
	}
	return fmt.Errorf("%s: %w", what, err)
}

// stop implements stop(). The client's Stop runs on a goroutine: it may wait for transports that
// need the event loop, which a JS callback must never hold.
func (jc *jsClient) stop(args []js.Value) any {
	code, reason := closeArgs(args, "manual stop")
	return newPromise(jc.reg, func() (any, error) {
		ctx, cancel := context.WithTimeout(jc.ctx, stopTimeout)
		defer cancel()
		if err := jc.c.StopWith(ctx, code, reason); err != nil {
			return nil, jc.failure("failed to stop", err)
		}
		return js.Undefined(), nil
	})
}

// stopTimeout bounds how long stop() and destroy() wait for the client's goroutines to end.
const stopTimeout = 10 * time.Second

// destroy implements destroy(): it swaps the methods for the module's stand-ins at once, so later
// calls never reach a released func, then destroys the client, ends pending calls and releases every
// func of the client on a goroutine. The returned promise resolves when all that is done.
func (jc *jsClient) destroy([]js.Value) any {
	if !jc.dead.CompareAndSwap(false, true) {
		return js.Global().Get("Promise").Call("resolve")
	}
	for name, f := range jc.mod.destroyed {
		jc.obj.Set(name, f)
	}
	return newPromise(jc.mod.reg, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		err := jc.c.Destroy(ctx)
		jc.cancel()
		jc.reg.releaseAll()
		if err != nil {
			return nil, fmt.Errorf("failed to destroy: %w", err)
		}
		return js.Undefined(), nil
	})
}

// deliver is the client's OnEvents: one crossing per batch of frames, the JSON text as is.
func (jc *jsClient) deliver(batch []byte) {
	if jc.dead.Load() || jc.onBatch.Type() != js.TypeFunction {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			consoleError("b24pull: onBatch threw: " + panicText(p))
		}
	}()
	jc.onBatch.Invoke(string(batch))
}

// logger returns the Logf for options: onLog(line) when given, else console.debug when debug is
// set, else nil. Lines reach it already redacted by the client.
func logger(options js.Value) func(format string, args ...any) {
	onLog := prop(options, "onLog")
	debug := prop(options, "debug").Truthy()
	if onLog.Type() != js.TypeFunction && !debug {
		return nil
	}
	return func(format string, args ...any) {
		defer func() { _ = recover() }()
		line := "b24pull: " + fmt.Sprintf(format, args...)
		if onLog.Type() == js.TypeFunction {
			onLog.Invoke(line)
			return
		}
		js.Global().Get("console").Call("debug", line)
	}
}

// jsStats is what getStats() returns: the client's counters (whose goroutines counts the
// goroutines the client owns) plus the module's own.
type jsStats struct {
	client.Stats
	// JSFuncs is LiveFuncs(): js.Funcs of the whole module not yet released.
	JSFuncs int64 `json:"jsFuncs"`
	// RuntimeGoroutines is runtime.NumGoroutine(): every goroutine of the program.
	RuntimeGoroutines int `json:"runtimeGoroutines"`
}

// statsValue returns s with the bridge counters as a JS object.
func statsValue(s client.Stats) js.Value {
	text, err := json.Marshal(jsStats{Stats: s, JSFuncs: LiveFuncs(), RuntimeGoroutines: runtime.NumGoroutine()})
	if err != nil {
		return js.Global().Get("Object").New()
	}
	return jsonValue(text)
}

// factsValue returns f as a JS object.
func factsValue(f client.Facts) js.Value {
	text, err := json.Marshal(f)
	if err != nil {
		return js.Global().Get("Object").New()
	}
	return jsonValue(text)
}

// jsonOrNull returns JSON.parse(text), or null for no text.
func jsonOrNull(text []byte) js.Value {
	if len(text) == 0 {
		return js.Null()
	}
	return jsonValue(text)
}

// jsonValue returns JSON.parse(text), or an empty object for text that does not parse.
func jsonValue(text []byte) js.Value {
	v, err := parseJSON(string(text))
	if err != nil {
		return js.Global().Get("Object").New()
	}
	return v
}
