// Command compatreadme copies the client compatibility table that the
// conformance suite writes to conformance/COMPAT.md into README.md, between
// the markers "<!-- compat:begin -->" and "<!-- compat:end -->". When README.md
// has no markers they are appended at its end; nothing outside them changes.
//
// Usage, from the repository root:
//
//	go run ./conformance/compatreadme [-compat conformance/COMPAT.md] [-readme README.md]
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
)

// Markers shared with conformance/compat_test.go.
const (
	begin = "<!-- compat:begin -->"
	end   = "<!-- compat:end -->"
)

func main() {
	compat := flag.String("compat", "conformance/COMPAT.md", "report written by `go test ./conformance/`")
	readme := flag.String("readme", "README.md", "file to update between the markers")
	flag.Parse()
	if err := update(*compat, *readme); err != nil {
		fmt.Fprintln(os.Stderr, "compatreadme:", err)
		os.Exit(1)
	}
}

// update replaces the marked section of readme with the marked table of compat.
func update(compatPath, readmePath string) error {
	src, err := os.ReadFile(compatPath)
	if err != nil {
		return err
	}
	table, err := between(src)
	if err != nil {
		return fmt.Errorf("%s: %w", compatPath, err)
	}
	doc, err := os.ReadFile(readmePath)
	if err != nil {
		return err
	}
	out, err := splice(doc, table)
	if err != nil {
		return fmt.Errorf("%s: %w", readmePath, err)
	}
	if bytes.Equal(out, doc) {
		return nil
	}
	fi, err := os.Stat(readmePath)
	if err != nil {
		return err
	}
	return os.WriteFile(readmePath, out, fi.Mode().Perm())
}

// between returns what lies strictly between the markers of b.
func between(b []byte) ([]byte, error) {
	i := bytes.Index(b, []byte(begin))
	j := bytes.Index(b, []byte(end))
	if i < 0 || j < i {
		return nil, errors.New("no " + begin + " ... " + end + " section")
	}
	return bytes.Trim(b[i+len(begin):j], "\n"), nil
}

// splice puts table between doc's markers, appending the markers at the end
// of doc when it has none.
func splice(doc, table []byte) ([]byte, error) {
	section := append(append([]byte(begin+"\n"), table...), []byte("\n"+end)...)
	i := bytes.Index(doc, []byte(begin))
	j := bytes.Index(doc, []byte(end))
	switch {
	case i < 0 && j < 0:
		out := bytes.TrimRight(doc, "\n")
		out = append(out, "\n\n"...)
		return append(append(out, section...), '\n'), nil
	case i < 0 || j < i:
		return nil, errors.New("unbalanced " + begin + " / " + end + " markers")
	}
	out := append([]byte{}, doc[:i]...)
	out = append(out, section...)
	return append(out, doc[j+len(end):]...), nil
}
