package techdocs

import (
	"sort"
	"strings"
	"unicode"
)

// index is an in-memory inverted index over a site's pages.
type index struct {
	pages []*Page
	// terms maps a lowercased word to the pages holding it, with counts.
	terms map[string]map[int]int
	// titles maps a word to the pages whose title holds it.
	titles map[string]map[int]bool
	sorted []string // the terms, sorted, for prefix queries
}

// Hit is a search result.
type Hit struct {
	Site    string // the site's name
	Entity  string // the entity's ref
	Title   string // the page's title
	URL     string
	Snippet string
	score   int
}

func newIndex(pages []*Page) *index {
	ix := &index{pages: pages, terms: map[string]map[int]int{}, titles: map[string]map[int]bool{}}
	for i, p := range pages {
		for _, w := range words(p.Text) {
			m := ix.terms[w]
			if m == nil {
				m = map[int]int{}
				ix.terms[w] = m
			}
			m[i]++
		}
		for _, w := range words(p.Title) {
			if ix.titles[w] == nil {
				ix.titles[w] = map[int]bool{}
			}
			ix.titles[w][i] = true
		}
	}
	for t := range ix.terms {
		ix.sorted = append(ix.sorted, t)
	}
	sort.Strings(ix.sorted)
	return ix
}

// words splits text into lowercased words of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// search finds the pages holding every query word; the last word also
// matches as a prefix (so results come while typing).
func (ix *index) search(q string) []Hit {
	qs := words(q)
	if len(qs) == 0 || ix == nil {
		return nil
	}
	var scores map[int]int
	for i, w := range qs {
		matches := map[int]int{}
		add := func(term string) {
			for p, c := range ix.terms[term] {
				matches[p] += c
			}
		}
		add(w)
		if i == len(qs)-1 {
			at := sort.SearchStrings(ix.sorted, w)
			for ; at < len(ix.sorted) && strings.HasPrefix(ix.sorted[at], w); at++ {
				if ix.sorted[at] != w {
					add(ix.sorted[at])
				}
			}
		}
		for p := range ix.titles[w] {
			matches[p] += 10
		}
		if scores == nil {
			scores = matches
			continue
		}
		for p := range scores {
			if m, ok := matches[p]; ok {
				scores[p] += m
			} else {
				delete(scores, p)
			}
		}
	}
	hits := make([]Hit, 0, len(scores))
	for p, sc := range scores {
		page := ix.pages[p]
		hits = append(hits, Hit{Title: page.Title, URL: page.URL, Snippet: snippet(page.Text, qs), score: sc})
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].score != hits[j].score {
			return hits[i].score > hits[j].score
		}
		return hits[i].URL < hits[j].URL
	})
	return hits
}

// snippet is about 160 characters of text around the first query word.
func snippet(text string, qs []string) string {
	lower := strings.ToLower(text)
	at := -1
	for _, w := range qs {
		if i := strings.Index(lower, w); i >= 0 && (at < 0 || i < at) {
			at = i
		}
	}
	r := []rune(text)
	if at < 0 {
		at = 0
	} else {
		at = len([]rune(text[:min(at, len(text))]))
	}
	start := max(0, at-60)
	end := min(len(r), start+160)
	out := strings.Join(strings.Fields(string(r[start:end])), " ")
	if start > 0 {
		out = "…" + out
	}
	if end < len(r) {
		out += "…"
	}
	return out
}
