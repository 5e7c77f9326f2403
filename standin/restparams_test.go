//go:build !js

package standin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFormBrackets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, form string
		want       map[string]string
	}{
		{"scalars upper-cased", "auth=x&cache=N", map[string]string{"AUTH": `"x"`, "CACHE": `"N"`}},
		{"list", "USER_ID[]=1&USER_ID[]=2", map[string]string{"USER_ID": `["1","2"]`}},
		{"indexed list", "USERS[0]=5&USERS[1]=6", map[string]string{"USERS": `["5","6"]`}},
		{"object in order", "PARAMS[z]=1&PARAMS[a][b]=2&PARAMS[a][c][]=3", map[string]string{"PARAMS": `{"z":"1","a":{"b":"2","c":["3"]}}`}},
		{"sparse keys are an object", "A[1]=x&A[3]=y", map[string]string{"A": `{"1":"x","3":"y"}`}},
		{"escapes", "PARAMS[text]=h%C3%A9llo+%E2%9C%93&PARAMS[q]=%22", map[string]string{"PARAMS": `{"text":"héllo ✓","q":"\""}`}},
		{"later value wins", "a=1&a=2", map[string]string{"A": `"2"`}},
		{"unclosed bracket is a plain key", "a[b=1", map[string]string{"A[B": `"1"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := restParams{}
			p.addForm(tc.form)
			got := map[string]string{}
			for k, v := range p {
				got[k] = string(v)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestReadRESTParamsJSON(t *testing.T) {
	t.Parallel()
	r, err := http.NewRequest(http.MethodPost, "/rest/x.json?auth=q", strings.NewReader(`{"user_id": 577, "PARAMS": {"n": 7}}`))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/json")
	p, err := readRESTParams(r)
	require.NoError(t, err)
	assert.Equal(t, "577", string(p["USER_ID"]))
	assert.JSONEq(t, `{"n":7}`, string(p["PARAMS"]))
	tok, _ := p.str("AUTH")
	assert.Equal(t, "q", tok)

	r, err = http.NewRequest(http.MethodPost, "/rest/x.json", strings.NewReader(`{bad`))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/json")
	_, err = readRESTParams(r)
	assert.Error(t, err)
}

func TestParamInts(t *testing.T) {
	t.Parallel()
	p := restParams{
		"A": []byte(`"[1,\"2\",-3]"`),
		"B": []byte(`7`),
		"C": []byte(`"12abc"`),
		"D": []byte(`{"0":"4"}`),
		"E": []byte(`null`),
	}
	for key, want := range map[string][]int{"A": {1, 2, -3}, "B": {7}, "C": {12}, "D": {4}} {
		got, ok := p.ints(key)
		assert.True(t, ok, key)
		assert.Equal(t, want, got, key)
	}
	_, ok := p.ints("E")
	assert.False(t, ok)
	_, ok = p.ints("missing")
	assert.False(t, ok)
	assert.Equal(t, 0, intval("abc"))
	assert.Equal(t, -5, intval("-5x"))
}
