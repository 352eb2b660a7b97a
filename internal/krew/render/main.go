// Command render writes plugins/tenant.yaml, the manifest of the
// project's krew index, from the krew-release-bot template krew/.krew.yaml,
// a release tag and goreleaser's checksums.txt, and checks it as krew does:
//
//	goreleaser release --clean            # writes dist/checksums.txt
//	go run ./internal/krew/render -tag v0.1.0
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kubectl-tenant/kubectl-tenant/internal/krew"
)

func main() {
	var (
		tag       = flag.String("tag", "", "release tag, e.g. v0.1.0 (required)")
		tmpl      = flag.String("template", "krew/.krew.yaml", "krew-release-bot template")
		checksums = flag.String("checksums", "dist/checksums.txt", "goreleaser's checksums file of the release")
		out       = flag.String("out", "plugins/tenant.yaml", "manifest to write; - for stdout")
	)
	flag.Parse()
	if err := run(*tag, *tmpl, *checksums, *out); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(tag, tmplFile, checksums, out string) error {
	if tag == "" {
		return fmt.Errorf("-tag is required")
	}
	tmpl, err := os.ReadFile(tmplFile)
	if err != nil {
		return err
	}
	sum, err := krew.ChecksumsFile(checksums)
	if err != nil {
		return err
	}
	b, err := krew.Render(tmpl, tag, sum)
	if err != nil {
		return err
	}
	p, err := krew.Parse(b)
	if err != nil {
		return err
	}
	if err := krew.Validate("tenant", p); err != nil {
		return err
	}
	if out == "-" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(out, b, 0o644)
}
