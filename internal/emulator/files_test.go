package emulator

import "testing"

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8089", true},
		{"[::1]:0", true},
		{"localhost:80", true},
		{"0.0.0.0:8089", false},
		{"10.0.0.1:8089", false},
		{":8089", false},
		{"nonsense", false},
	}
	for _, tt := range tests {
		if got := IsLoopback(tt.addr); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}
