package standin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// portalRoutes is the portal listener's handler: REST, the stand-in's own endpoints, the portal page
// that hosts an app (portal_frame.go), then Options.Handler.
func (s *Server) portalRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/rest/", s.serveREST)
	mux.HandleFunc("/standin/", s.serveStandin)
	mux.HandleFunc(PortalFramePath, s.serveFrame)
	mux.HandleFunc(PortalFramePath+"/", s.serveFrame)
	other := s.opts.Handler
	if other == nil {
		other = http.NotFoundHandler()
	}
	mux.Handle("/", other)
	return mux
}

// faultArgs are the arguments of a fault call: query parameters, overridden by a JSON object body.
type faultArgs map[string]string

func readFaultArgs(r *http.Request) (faultArgs, error) {
	args := faultArgs{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			args[k] = v[0]
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("failed to read the body: %w", err)
	}
	if body = bytes.TrimSpace(body); len(body) == 0 {
		return args, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, errors.New("the body must be a JSON object")
	}
	for k, v := range obj {
		if s, ok := jsonScalar(v); ok {
			args[k] = s
		}
	}
	return args, nil
}

func (a faultArgs) int(key string, def int) (int, error) {
	v, ok := a[key]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s must be an integer", key)
	}
	return n, nil
}

func (a faultArgs) seconds(key string, def time.Duration) (time.Duration, error) {
	v, ok := a[key]
	if !ok || v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 3600 {
		return 0, fmt.Errorf("%s must be a number of seconds between 0 and 3600", key)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func (a faultArgs) bool(key string) (bool, error) {
	switch strings.ToLower(a[key]) {
	case "1", "true", "y", "yes", "on":
		return true, nil
	case "0", "false", "n", "no", "off":
		return false, nil
	default:
		return false, fmt.Errorf("%s must be true or false", key)
	}
}

// serveStandin answers POST /standin/fault/<name>, GET /standin/stats, POST /standin/publish and
// POST /standin/token.
func (s *Server) serveStandin(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	setCORS(h)
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		w.WriteHeader(http.StatusOK)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/standin/")
	if path == "stats" && r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, s.Stats())
		return
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use POST"})
		return
	}
	var result any
	var err error
	switch {
	case path == "publish":
		err = s.httpPublish(r)
	case path == "token":
		result, err = s.httpToken(r)
	case strings.HasPrefix(path, "fault/"):
		err = s.httpFault(strings.TrimPrefix(path, "fault/"), r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown stand-in endpoint"})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if result == nil {
		result = map[string]bool{"ok": true}
	}
	writeJSON(w, http.StatusOK, result)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(marshalJSON(v))
}

// httpFault runs one fault by name.
func (s *Server) httpFault(name string, r *http.Request) error {
	a, err := readFaultArgs(r)
	if err != nil {
		return err
	}
	switch name {
	case "drop":
		s.DropConnections()
	case "close":
		code, err := a.int("code", 1000)
		if err != nil {
			return err
		}
		if code < 0 || code > 4999 {
			return errors.New("code must be between 0 and 4999")
		}
		s.CloseConnections(code, a["reason"])
	case "restart":
		d, err := a.seconds("seconds", time.Second)
		if err != nil {
			return err
		}
		s.Restart(d)
	case "garbage":
		s.SendGarbage()
	case "oversized":
		n, err := a.int("bytes", 0)
		if err != nil {
			return err
		}
		if n <= 0 || n > 64<<20 {
			return errors.New("bytes must be between 1 and 67108864")
		}
		s.SendOversized(n)
	case "duplicate":
		n, err := a.int("n", 1)
		if err != nil {
			return err
		}
		s.DuplicateNext(n)
	case "delay":
		ms, err := a.int("ms", 0)
		if err != nil {
			return err
		}
		if ms < 0 || ms > 600000 {
			return errors.New("ms must be between 0 and 600000")
		}
		s.DelayFrames(time.Duration(ms) * time.Millisecond)
	case "expire":
		scope := a["scope"]
		if scope == "" {
			scope = ScopeAll
		}
		return s.ExpireChannelsVariant(scope, a["variant"])
	case "config_expire":
		s.ConfigExpire()
	case "server_restart":
		s.ServerRestartMessage()
	case "fail_rest":
		times, err := a.int("times", 1)
		if err != nil {
			return err
		}
		if a["code"] == "" {
			return errors.New("code is required")
		}
		s.FailREST(a["code"], times)
	case "fail_rest_page":
		times, err := a.int("times", 1)
		if err != nil {
			return err
		}
		status, err := a.int("status", http.StatusBadGateway)
		if err != nil {
			return err
		}
		if status < 400 || status > 599 {
			return errors.New("status must be between 400 and 599")
		}
		s.FailRESTWithPage(status, times)
	case "push_configured":
		on, err := a.bool("on")
		if err != nil {
			return err
		}
		s.SetPushConfigured(on)
	case "reject4010":
		on, err := a.bool("on")
		if err != nil {
			return err
		}
		s.Reject4010(on)
	default:
		return fmt.Errorf("unknown fault %q", name)
	}
	return nil
}

// httpPublish is POST /standin/publish {users, moduleId, command, params}.
func (s *Server) httpPublish(r *http.Request) error {
	var req struct {
		Users    []int           `json:"users"`
		ModuleID string          `json:"moduleId"`
		Command  string          `json:"command"`
		Params   json.RawMessage `json:"params"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxPayload)).Decode(&req); err != nil {
		return errors.New("the body must be {users, moduleId, command, params}")
	}
	if err := s.Publish(req.Users, req.ModuleID, req.Command, req.Params); err != nil {
		return err
	}
	return nil
}

// httpToken is POST /standin/token {user, admin}: a fresh app token for a demo page.
func (s *Server) httpToken(r *http.Request) (any, error) {
	a, err := readFaultArgs(r)
	if err != nil {
		return nil, err
	}
	user, err := a.int("user", 1)
	if err != nil {
		return nil, err
	}
	admin := false
	if a["admin"] != "" {
		if admin, err = a.bool("admin"); err != nil {
			return nil, err
		}
	}
	return map[string]any{"token": s.NewToken(user, admin), "user": user}, nil
}
