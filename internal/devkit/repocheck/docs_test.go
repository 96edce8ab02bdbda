package repocheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var mdLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)\)`)

// TestDocLinksResolve follows every relative link in README.md and docs/:
// the file must exist inside the repository, and a #fragment must name a
// heading of the page it points at.
func TestDocLinksResolve(t *testing.T) {
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{"README.md"}, pages...)
	if len(pages) < 2 {
		t.Fatal("no docs/ pages")
	}
	checked := 0
	for _, page := range pages {
		for _, target := range markdownLinks(t, page) {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			if problem := linkProblem(page, target); problem != "" {
				t.Errorf("%s: link %s: %s", page, target, problem)
			}
		}
	}
	if checked < len(pages) {
		t.Errorf("only %d relative links in %d pages", checked, len(pages))
	}
}

// TestBrokenLinksAreCaught: the check fails a missing file, a link out of
// the repository and an unknown heading.
func TestBrokenLinksAreCaught(t *testing.T) {
	for _, target := range []string{"docs/nope.md", "../shared/spec/CONTRACT.md", "docs/api.md#no-such-heading"} {
		if linkProblem("README.md", target) == "" {
			t.Errorf("%s: not caught", target)
		}
	}
	if p := linkProblem("README.md", "docs/api.md"); p != "" {
		t.Errorf("docs/api.md: %s", p)
	}
}

func markdownLinks(t *testing.T, page string) []string {
	t.Helper()
	data, err := os.ReadFile(page) // #nosec G304 -- a page of this repository
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	inCode := false
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		if inCode {
			continue
		}
		for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
			links = append(links, m[1])
		}
	}
	return links
}

func linkProblem(page, target string) string {
	file, frag, _ := strings.Cut(target, "#")
	path := page
	if file != "" {
		path = filepath.Join(filepath.Dir(page), file)
	}
	if rel, err := filepath.Rel(".", path); err != nil || strings.HasPrefix(rel, "..") {
		return "leaves the repository"
	}
	if _, err := os.Stat(path); err != nil {
		return "no such file"
	}
	if frag == "" {
		return ""
	}
	data, err := os.ReadFile(path) // #nosec G304 -- a page of this repository
	if err != nil {
		return err.Error()
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok && headingSlug(strings.TrimLeft(h, "#")) == frag {
			return ""
		}
	}
	return "no heading #" + frag
}

// headingSlug is the anchor GitHub gives a heading: lower case, spaces to
// hyphens, punctuation other than hyphens and underscores dropped.
func headingSlug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}
