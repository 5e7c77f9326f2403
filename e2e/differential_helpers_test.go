//go:build !js

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/b24pull/b24pull/internal/webdeps"
)

// diffSite serves the differential page: the pages and node_modules of e2e/web (the official client
// and its import map) and the built browser package under /b24pull/.
type diffSite struct {
	testSite
	deps http.Handler
}

func (s diffSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serve(w, r) {
		return
	}
	if strings.HasPrefix(r.URL.Path, webdeps.NodeModulesPrefix) {
		s.deps.ServeHTTP(w, r)
		return
	}
	http.NotFound(w, r)
}

// ---- the logs -----------------------------------------------------------------------------------

// The clients of the differential page, as its logs name them.
const (
	diffOfficial = "official"
	diffB24pull  = "b24pull"
)

// diffCall is one call of a callback as the page recorded it (differential.js): the subscription's
// stream, a deep copy of the arguments, whether a handler method ran with its handler as this, and
// the message it carried (command, params.n, and params.to: the channel it was published to).
type diffCall struct {
	Stream  string `json:"stream"`
	Args    []any  `json:"args"`
	Self    *bool  `json:"self,omitempty"`
	Command string `json:"command,omitempty"`
	N       any    `json:"n,omitempty"`
	To      string `json:"to,omitempty"`
}

// diffLogs are both clients' logs, in call order.
type diffLogs map[string][]diffCall

// Placeholders of normalised values.
const (
	diffAgo    = "<ago>"
	diffAbsent = "<absent>"
)

// normalise replaces what differs between two correct clients by nature in one client's log:
//   - extra.server_time_ago (any key of that name), the client's clock against the server's, becomes
//     "<ago>" when it is a number of seconds from 0 to 600 (anything else stays, and shows);
//   - extra.sender.id, the public id of the connection that published a client message, becomes
//     "<sender-N>", N counting the distinct ids in order of first appearance in this log: the two
//     logs must name the same senders in the same pattern, and no id is ever printed. An empty id
//     stays "" (the official client's protobuf decoder writes one for the backend).
//
// server_time and server_time_unix are the portal's, the same message for both clients: they stay.
func normalise(calls []diffCall) []diffCall {
	senders := map[string]string{}
	out := make([]diffCall, len(calls))
	for i, c := range calls {
		c.Args = normaliseValue(c.Args, "", senders).([]any)
		out[i] = c
	}
	return out
}

func normaliseValue(v any, key string, senders map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, item := range x {
			m[k] = normaliseValue(item, k, senders)
		}
		if key == "sender" {
			if id, ok := m["id"].(string); ok && id != "" {
				alias, seen := senders[id]
				if !seen {
					alias = fmt.Sprintf("<sender-%d>", len(senders)+1)
					senders[id] = alias
				}
				m["id"] = alias
			}
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, item := range x {
			s[i] = normaliseValue(item, "", senders)
		}
		return s
	case float64:
		if key == "server_time_ago" && x >= 0 && x <= 600 {
			return diffAgo
		}
		return x
	default:
		return v
	}
}

// byStream groups a log's calls by stream, keeping their order.
func byStream(calls []diffCall) map[string][]diffCall {
	m := map[string][]diffCall{}
	for _, c := range calls {
		m[c.Stream] = append(m[c.Stream], c)
	}
	return m
}

// ---- the list of differences (docs/migrating.md) ------------------------------------------------

// listedDifference is one entry of the ```differences block of docs/migrating.md: a way in which
// the two clients' logs may differ, in the versions listed. Kinds:
//   - "silent": one client (Silent) never calls the listed streams while the other does; with As,
//     the calling client's calls of a stream equal its own calls of the stream As names for it
//     (which the comparison holds against the silent client's);
//   - "field": in the listed streams (all when none are listed), a value at a path ending in Field
//     is Official in the official client's log and B24pull in b24pull's ("<absent>": no such key);
//   - "sequence": the listed streams carry statuses ({status} as the first argument), exactly
//     Official and B24pull: a list, or lists by version ("3", "4", "5");
//   - "order": the order of messages across channels may differ (within a channel and within a
//     message it may not).
//
// Observable false marks a listed difference this test cannot bring about (Why says why); it is
// never looked for. Optional marks one that shows or not depending on timing (Why says why): the
// test accepts it and reports whether it showed, but does not require it.
type listedDifference struct {
	ID         string            `json:"id"`
	Kind       string            `json:"kind"`
	Versions   []int             `json:"versions"`
	Observable *bool             `json:"observable"`
	Optional   bool              `json:"optional"`
	Why        string            `json:"why"`
	Streams    []string          `json:"streams"`
	Silent     string            `json:"silent"`
	As         map[string]string `json:"as"`
	Field      string            `json:"field"`
	Official   json.RawMessage   `json:"official"`
	B24pull    json.RawMessage   `json:"b24pull"`
}

func (d listedDifference) observable() bool { return d.Observable == nil || *d.Observable }

func (d listedDifference) appliesTo(version int) bool {
	return d.observable() && slices.Contains(d.Versions, version)
}

// covers tells whether the entry names stream (a name ending in "*" names every stream it starts).
// A field entry without streams covers them all.
func (d listedDifference) covers(stream string) bool {
	if len(d.Streams) == 0 {
		return d.Kind == "field"
	}
	for _, s := range d.Streams {
		if s == stream || (strings.HasSuffix(s, "*") && strings.HasPrefix(stream, strings.TrimSuffix(s, "*"))) {
			return true
		}
	}
	return false
}

// sequence returns the statuses the entry expects of client in version.
func (d listedDifference) sequence(client string, version int) ([]string, error) {
	raw := d.Official
	if client == diffB24pull {
		raw = d.B24pull
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list, nil
	}
	var byVersion map[string][]string
	if err := json.Unmarshal(raw, &byVersion); err != nil {
		return nil, fmt.Errorf("difference %s: %s is neither a list of statuses nor lists by version", d.ID, client)
	}
	list, ok := byVersion[strconv.Itoa(version)]
	if !ok {
		return nil, fmt.Errorf("difference %s: no %s sequence for version %d", d.ID, client, version)
	}
	return list, nil
}

// migratingDoc is where the list lives, from the repository's root.
const migratingDoc = "docs/migrating.md"

// loadDifferences reads the ```differences block of docs/migrating.md and checks its entries.
func loadDifferences() ([]listedDifference, error) {
	root, err := webdeps.RepoRoot()
	if err != nil {
		return nil, err
	}
	doc, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(migratingDoc)))
	if err != nil {
		return nil, err
	}
	block, err := fencedBlock(doc, "differences")
	if err != nil {
		return nil, err
	}
	var list []listedDifference
	dec := json.NewDecoder(bytes.NewReader(block))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("%s: the differences block is not a JSON list of differences: %w", migratingDoc, err)
	}
	ids := map[string]bool{}
	for _, d := range list {
		if err := d.check(ids); err != nil {
			return nil, fmt.Errorf("%s: %w", migratingDoc, err)
		}
		ids[d.ID] = true
	}
	return list, nil
}

// check says what is wrong with an entry of the list, given the ids of the entries before it.
func (d listedDifference) check(ids map[string]bool) error {
	switch {
	case d.ID == "":
		return errors.New("a difference without an id")
	case ids[d.ID]:
		return fmt.Errorf("difference %s is listed twice", d.ID)
	case (!d.observable() || d.Optional) && d.Why == "":
		return fmt.Errorf("difference %s is not observable or optional but says not why", d.ID)
	case !d.observable():
		return nil
	case len(d.Versions) == 0:
		return fmt.Errorf("difference %s names no version", d.ID)
	}
	switch d.Kind {
	case "silent":
		if d.Silent != diffOfficial && d.Silent != diffB24pull {
			return fmt.Errorf("difference %s: silent must be official or b24pull", d.ID)
		}
		if len(d.Streams) == 0 {
			return fmt.Errorf("difference %s names no stream", d.ID)
		}
	case "sequence":
		if len(d.Streams) == 0 || d.Official == nil || d.B24pull == nil {
			return fmt.Errorf("difference %s needs streams, official and b24pull", d.ID)
		}
	case "field":
		if d.Field == "" || d.Official == nil || d.B24pull == nil {
			return fmt.Errorf("difference %s needs field, official and b24pull", d.ID)
		}
	case "order":
	default:
		return fmt.Errorf("difference %s has unknown kind %q", d.ID, d.Kind)
	}
	return nil
}

// fencedBlock returns the body of the only fenced block of doc whose info string is lang.
func fencedBlock(doc []byte, lang string) ([]byte, error) {
	var body []byte
	found := 0
	in := false
	for line := range bytes.Lines(doc) {
		trimmed := bytes.TrimSpace(line)
		switch {
		case !in && bytes.Equal(trimmed, []byte("```"+lang)):
			in = true
			found++
		case in && bytes.Equal(trimmed, []byte("```")):
			in = false
		case in:
			body = append(body, line...)
		}
	}
	switch {
	case found == 0:
		return nil, fmt.Errorf("%s has no ```%s block", migratingDoc, lang)
	case found > 1:
		return nil, fmt.Errorf("%s has %d ```%s blocks; keep one", migratingDoc, found, lang)
	case in:
		return nil, fmt.Errorf("%s: the ```%s block is not closed", migratingDoc, lang)
	}
	return body, nil
}

// ---- comparing ----------------------------------------------------------------------------------

// leafDiff is one place where two values differ: the path (args.1.sender.id) and each side's value
// there (diffAbsent for a key one side lacks).
type leafDiff struct {
	Path     string
	Official any
	B24pull  any
}

// leafDiffs lists where a and b differ, down to the smallest differing parts.
func leafDiffs(path string, a, b any) []leafDiff {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		var out []leafDiff
		for _, k := range sortedKeys(keys) {
			av, aok := am[k]
			bv, bok := bm[k]
			switch {
			case !aok:
				out = append(out, leafDiff{join(path, k), diffAbsent, bv})
			case !bok:
				out = append(out, leafDiff{join(path, k), av, diffAbsent})
			default:
				out = append(out, leafDiffs(join(path, k), av, bv)...)
			}
		}
		return out
	}
	as, aIsList := a.([]any)
	bs, bIsList := b.([]any)
	if aIsList && bIsList {
		var out []leafDiff
		for i := 0; i < len(as) || i < len(bs); i++ {
			p := join(path, strconv.Itoa(i))
			switch {
			case i >= len(as):
				out = append(out, leafDiff{p, diffAbsent, bs[i]})
			case i >= len(bs):
				out = append(out, leafDiff{p, as[i], diffAbsent})
			default:
				out = append(out, leafDiffs(p, as[i], bs[i])...)
			}
		}
		return out
	}
	if reflect.DeepEqual(a, b) {
		return nil
	}
	return []leafDiff{{path, a, b}}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// callValue is what of a call is compared: its arguments and, for handler methods, this.
func callValue(c diffCall) any {
	v := map[string]any{"args": c.Args}
	if c.Self != nil {
		v["self"] = *c.Self
	}
	return v
}

// matchesField tells whether d explains the leaf difference l of stream.
func (d listedDifference) matchesField(stream string, l leafDiff) bool {
	if d.Kind != "field" || !d.covers(stream) {
		return false
	}
	if l.Path != d.Field && !strings.HasSuffix(l.Path, "."+d.Field) {
		return false
	}
	return sameJSON(d.Official, l.Official) && sameJSON(d.B24pull, l.B24pull)
}

// sameJSON compares a listed value with a recorded one, both as JSON decodes them.
func sameJSON(listed json.RawMessage, recorded any) bool {
	var want any
	if json.Unmarshal(listed, &want) != nil {
		return false
	}
	data, err := json.Marshal(recorded)
	if err != nil {
		return false
	}
	var got any
	if json.Unmarshal(data, &got) != nil {
		return false
	}
	return reflect.DeepEqual(want, got)
}

// diffReport is the outcome of comparing one version's logs.
type diffReport struct {
	// Unexplained lists every difference no entry of the list explains, each a line of text.
	Unexplained []string
	// Observed counts, by entry id, the streams, values or orders in which each listed difference
	// showed.
	Observed map[string]int
	// Problems lists entries of the list that do not hold as written (a silent client that called,
	// a sequence other than the one listed).
	Problems []string
}

// compareLogs compares the two normalised logs of one version with the list:
//   - stream by stream, the calls for each message (matched by command and params.n, so that the
//     order of messages is left to the checks below) with equal arguments, field by field; the
//     calls that carry no message (statuses, subscribe outcomes, user status) in order;
//   - for each message, the subscribers called and their order;
//   - for each channel (params.to: the user's or the app's shared one), the order of its messages;
//   - the order of all messages, across channels.
//
// Streams a silent entry covers are left out of the orders.
func compareLogs(version int, logs diffLogs, list []listedDifference) diffReport {
	rep := diffReport{Observed: map[string]int{}}
	official := byStream(logs[diffOfficial])
	mine := byStream(logs[diffB24pull])
	streams := map[string]bool{}
	for s := range official {
		streams[s] = true
	}
	for s := range mine {
		streams[s] = true
	}
	var applicable []listedDifference
	for _, d := range list {
		if d.appliesTo(version) {
			applicable = append(applicable, d)
		}
	}

	for _, stream := range sortedKeys(streams) {
		a, b := official[stream], mine[stream]
		if entry, ok := streamEntry(applicable, stream); ok {
			if !reflect.DeepEqual(values(canonical(a)), values(canonical(b))) {
				if problem := entry.checkStream(stream, version, official, mine); problem != "" {
					rep.Problems = append(rep.Problems, problem)
				} else {
					rep.Observed[entry.ID]++
				}
			}
			continue
		}
		ka, kb := keyed(a), keyed(b)
		keys := map[string]bool{}
		for k := range ka {
			keys[k] = true
		}
		for k := range kb {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			ca, cb := ka[k], kb[k]
			if len(ca) != len(cb) {
				rep.Unexplained = append(rep.Unexplained, fmt.Sprintf("%s, %s: the official client's calls %d, b24pull's %d\n  official: %s\n  b24pull:  %s",
					stream, k, len(ca), len(cb), describe(ca), describe(cb)))
				continue
			}
			for i := range ca {
				for _, l := range leafDiffs("", callValue(ca[i]), callValue(cb[i])) {
					explained := false
					for _, d := range applicable {
						if d.matchesField(stream, l) {
							rep.Observed[d.ID]++
							explained = true
							break
						}
					}
					if !explained {
						rep.Unexplained = append(rep.Unexplained, fmt.Sprintf("%s, %s: %s is %s in the official client's log, %s in b24pull's",
							stream, k, l.Path, show(l.Official), show(l.B24pull)))
					}
				}
			}
		}
	}

	ma, mb := messageOrder(logs[diffOfficial], applicable), messageOrder(logs[diffB24pull], applicable)
	for _, k := range sortedKeys(union(ma.subscribers, mb.subscribers)) {
		if sa, sb := ma.subscribers[k], mb.subscribers[k]; !slices.Equal(sa, sb) {
			rep.Unexplained = append(rep.Unexplained, fmt.Sprintf("message %s: the official client called %s, b24pull %s",
				k, strings.Join(sa, ", "), strings.Join(sb, ", ")))
		}
	}
	for _, ch := range sortedKeys(union(ma.channels, mb.channels)) {
		if oa, ob := ma.channels[ch], mb.channels[ch]; !slices.Equal(oa, ob) {
			rep.Unexplained = append(rep.Unexplained, fmt.Sprintf("the order of the %s channel's messages differs: %s",
				ch, divergence(oa, ob)))
		}
	}
	if !slices.Equal(ma.all, mb.all) {
		explained := false
		for _, d := range applicable {
			if d.Kind == "order" {
				rep.Observed[d.ID]++
				explained = true
				break
			}
		}
		if !explained {
			rep.Unexplained = append(rep.Unexplained, "the order of messages across channels differs: "+divergence(ma.all, mb.all))
		}
	}
	return rep
}

// divergence describes where two orders part.
func divergence(a, b []string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf("from message %d, official %s, b24pull %s", i+1, window(a, i), window(b, i))
}

func union[V any](a, b map[string]V) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// key names the message of a call, command#n (command alone without n); "" when the call carries
// no message.
func key(c diffCall) string {
	switch {
	case c.Command == "":
		return ""
	case c.N == nil:
		return c.Command
	}
	return fmt.Sprintf("%s#%v", c.Command, c.N)
}

// keyed groups a stream's calls by message; calls without one are keyed by their place among
// them ("call 1", "call 2", …), so that they pair in order.
func keyed(calls []diffCall) map[string][]diffCall {
	m := map[string][]diffCall{}
	plain := 0
	for _, c := range calls {
		k := key(c)
		if k == "" {
			plain++
			k = fmt.Sprintf("call %d", plain)
		}
		m[k] = append(m[k], c)
	}
	return m
}

// canonical orders a stream's calls by message, keeping the order of calls of one message and of
// calls without one.
func canonical(calls []diffCall) []diffCall {
	out := slices.Clone(calls)
	slices.SortStableFunc(out, func(a, b diffCall) int { return strings.Compare(key(a), key(b)) })
	return out
}

// streamEntry returns the silent or sequence entry that covers stream.
func streamEntry(list []listedDifference, stream string) (listedDifference, bool) {
	for _, d := range list {
		if (d.Kind == "silent" || d.Kind == "sequence") && d.covers(stream) {
			return d, true
		}
	}
	return listedDifference{}, false
}

// checkStream says how the two clients' calls of stream break entry d, or "" when they are as listed.
func (d listedDifference) checkStream(stream string, version int, official, mine map[string][]diffCall) string {
	switch d.Kind {
	case "silent":
		silent, calling, other := official, mine, diffB24pull
		if d.Silent == diffB24pull {
			silent, calling, other = mine, official, diffOfficial
		}
		if n := len(silent[stream]); n > 0 {
			return fmt.Sprintf("difference %s: %s called %s %d times, the list says never", d.ID, d.Silent, stream, n)
		}
		if twin, ok := d.As[stream]; ok && !reflect.DeepEqual(values(canonical(calling[stream])), values(canonical(calling[twin]))) {
			return fmt.Sprintf("difference %s: %s's calls of %s are not its calls of %s\n  %s: %s\n  %s: %s",
				d.ID, other, stream, twin, stream, describe(calling[stream]), twin, describe(calling[twin]))
		}
		return ""
	case "sequence":
		for _, client := range []string{diffOfficial, diffB24pull} {
			want, err := d.sequence(client, version)
			if err != nil {
				return err.Error()
			}
			calls := official[stream]
			if client == diffB24pull {
				calls = mine[stream]
			}
			if got := statuses(calls); !slices.Equal(got, want) {
				return fmt.Sprintf("difference %s: %s's %s sequence is %q, the list says %q", d.ID, client, stream, got, want)
			}
		}
		return ""
	}
	return fmt.Sprintf("difference %s: kind %s covers no stream", d.ID, d.Kind)
}

// statuses reads {status} of each call's first argument.
func statuses(calls []diffCall) []string {
	var out []string
	for _, c := range calls {
		s := ""
		if len(c.Args) > 0 {
			if m, ok := c.Args[0].(map[string]any); ok {
				s, _ = m["status"].(string)
			}
		}
		out = append(out, s)
	}
	return out
}

func values(calls []diffCall) []any {
	out := make([]any, len(calls))
	for i, c := range calls {
		out[i] = callValue(c)
	}
	return out
}

// orders are the orders of one log: the subscribers called for each message, the messages of each
// channel, and all messages, each message at its first call.
type orders struct {
	subscribers map[string][]string
	channels    map[string][]string
	all         []string
}

// messageOrder reads the orders of a log, leaving out the streams of silent entries.
func messageOrder(calls []diffCall, list []listedDifference) orders {
	o := orders{subscribers: map[string][]string{}, channels: map[string][]string{}}
	for _, c := range calls {
		k := key(c)
		if k == "" {
			continue
		}
		if e, ok := streamEntry(list, c.Stream); ok && e.Kind == "silent" {
			continue
		}
		if _, seen := o.subscribers[k]; !seen {
			o.all = append(o.all, k)
			if c.To != "" {
				o.channels[c.To] = append(o.channels[c.To], k)
			}
		}
		o.subscribers[k] = append(o.subscribers[k], c.Stream)
	}
	return o
}

func window(s []string, i int) string {
	if i >= len(s) {
		return "(end)"
	}
	return strings.Join(s[i:min(i+3, len(s))], ", ")
}

// describe prints calls compactly for a failure message (normalised values only).
func describe(calls []diffCall) string {
	if len(calls) == 0 {
		return "(none)"
	}
	var parts []string
	for _, c := range calls {
		data, err := json.Marshal(callValue(c))
		if err != nil {
			data = []byte(err.Error())
		}
		parts = append(parts, string(data))
	}
	const most = 6
	if len(parts) > most {
		parts = append(parts[:most], fmt.Sprintf("… %d more", len(parts)-most))
	}
	return strings.Join(parts, " ")
}

func show(v any) string {
	if v == diffAbsent {
		return "absent"
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}
