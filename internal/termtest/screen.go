// Package termtest provides a terminal screen for tests of what bulkpatch
// draws on a terminal, as httptest provides a server.
package termtest

import "strings"

// Screen is a terminal as far as bulkpatch uses one: printable runes,
// carriage return, line feed (as CR LF, like a tty's output processing)
// and auto-wrap at the right margin. Write what the program drew to it,
// then read Lines.
type Screen struct {
	Width int // columns
	Wraps int // how many times a line ran past the right margin

	rows [][]rune
	r, c int
}

// New returns an empty screen width columns wide.
func New(width int) *Screen { return &Screen{Width: width} }

func (s *Screen) Write(p []byte) (int, error) {
	for _, ch := range string(p) {
		switch ch {
		case '\r':
			s.c = 0
		case '\n':
			s.r, s.c = s.r+1, 0
		default:
			if s.c == s.Width {
				s.r, s.c = s.r+1, 0
				s.Wraps++
			}
			for len(s.rows) <= s.r {
				s.rows = append(s.rows, nil)
			}
			for len(s.rows[s.r]) <= s.c {
				s.rows[s.r] = append(s.rows[s.r], ' ')
			}
			s.rows[s.r][s.c] = ch
			s.c++
		}
	}
	return len(p), nil
}

// Lines is what the screen shows, trailing blanks trimmed.
func (s *Screen) Lines() []string {
	var out []string
	for _, r := range s.rows {
		out = append(out, strings.TrimRight(string(r), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// Resize makes the screen width columns wide, cutting longer lines as
// xterm does.
func (s *Screen) Resize(width int) {
	s.Width = width
	for i, r := range s.rows {
		s.rows[i] = r[:min(len(r), width)]
	}
	s.c = min(s.c, width)
}
