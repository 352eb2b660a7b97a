package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestStamp(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	const rev = "fb9481410c535aeb2deb0fae9706dd6b2db98734"
	checkout := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
		Settings: vcs("-trimpath", "true", "vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-06T19:40:00Z", "vcs.modified", "false")}
	dirty := &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206194000-fb9481410c53+dirty"},
		Settings: vcs("vcs.revision", rev, "vcs.time", "2026-12-06T19:40:00Z", "vcs.modified", "true")}
	installed := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}} // go install ...@v1.4.0: no VCS settings
	for _, tc := range []struct {
		name                string
		version, commit, at string
		bi                  *debug.BuildInfo
		want                [3]string
	}{
		{"no build info", "dev", "none", "unknown", nil, [3]string{"dev", "none", "unknown"}},
		{"make build from a clean checkout", "dev", "none", "unknown", checkout,
			[3]string{"dev", rev, "2026-12-06T19:40:00Z"}},
		{"uncommitted changes", "dev", "none", "unknown", dirty,
			[3]string{"v0.0.0-20261206194000-fb9481410c53+dirty", rev + "-dirty", "2026-12-06T19:40:00Z"}},
		{"go install @version", "dev", "none", "unknown", installed, [3]string{"v1.4.0", "none", "unknown"}},
		{"release stamp wins", "1.4.0", "abc1234", "2026-01-01T00:00:00Z", dirty,
			[3]string{"1.4.0", "abc1234", "2026-01-01T00:00:00Z"}},
		{"partial stamp: only the version", "1.4.0-rc1", "none", "unknown", checkout,
			[3]string{"1.4.0-rc1", rev, "2026-12-06T19:40:00Z"}},
		{"no VCS, devel", "dev", "none", "unknown", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			[3]string{"dev", "none", "unknown"}},
	} {
		v, c, d := stamp(tc.version, tc.commit, tc.at, tc.bi)
		if got := [3]string{v, c, d}; got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
