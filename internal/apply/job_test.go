package apply

import "testing"

func TestAheadString(t *testing.T) {
	tests := []struct {
		a    Ahead
		want string
	}{
		{Ahead{Rows: 12}, "12 rows"},
		{Ahead{Rows: 12, Done: 5}, "12 rows, skipping 5 an earlier run finished"},
		{Ahead{Rows: 12, Reads: &Reads{Update: 4, Unchanged: 7, Failed: 1}},
			"4 rows that differ (7 already as asked; 1 could not be read and will fail unwritten)"},
		{Ahead{Rows: 12, Done: 2, Reads: &Reads{Update: 3, Unchanged: 7}},
			"3 rows that differ (7 already as asked; 0 could not be read and will fail unwritten), skipping 2 an earlier run finished"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.a, got, tt.want)
		}
	}
}
