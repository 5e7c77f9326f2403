package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/b24pull/b24pull/internal/webdeps"
)

// OfficialBundlePath is where the page loads the official client from: the self-contained browser
// build of @bitrix24/b24jssdk (a classic script defining the global B24Js), served from the npm
// install the e2e tests use, as internal/webdeps serves it to the test pages.
const OfficialBundlePath = webdeps.SDKBundleURL

// officialInstallHint tells a visitor how to get the official client's files.
const officialInstallHint = "run scripts/ensure-npm.sh (make demo does) and restart the demo"

// official is what the demo knows of the official client: a handler of its bundle when the pinned
// version is installed, else the reason why not, for the page's note.
type official struct {
	files   http.Handler
	missing string
}

// findOfficial looks for the pinned official client in webDir/node_modules. A missing or other
// version is not an error: the page then says what is missing instead of offering the switch.
func findOfficial(webDir string) official {
	if webDir == "" {
		return official{missing: "the official client's folder (e2e/web) was not found: " + officialInstallHint}
	}
	pkgDir := filepath.Join(webDir, "node_modules", filepath.FromSlash(webdeps.SDKModule))
	data, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		return official{missing: fmt.Sprintf("%s is not installed: %s", webdeps.SDKModule, officialInstallHint)}
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil || pkg.Version != webdeps.SDKVersion {
		return official{missing: fmt.Sprintf("%s %s is installed, the demo needs %s: %s",
			webdeps.SDKModule, pkg.Version, webdeps.SDKVersion, officialInstallHint)}
	}
	rel := filepath.FromSlash(OfficialBundlePath[len(webdeps.NodeModulesPrefix):])
	if _, err := os.Stat(filepath.Join(webDir, "node_modules", rel)); err != nil {
		return official{missing: fmt.Sprintf("the browser build of %s is missing: %s", webdeps.SDKModule, officialInstallHint)}
	}
	return official{files: webdeps.NewHandlerAt(webDir)}
}

// available tells whether the page can run the official client.
func (o official) available() bool {
	return o.files != nil
}

// serve answers OfficialBundlePath, and 404 for it when the official client is missing.
func (o official) serve(w http.ResponseWriter, r *http.Request) {
	if o.files == nil {
		http.NotFound(w, r)
		return
	}
	o.files.ServeHTTP(w, r)
}
