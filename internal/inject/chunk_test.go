package inject

import (
	"bytes"
	"strings"
	"testing"
)

func collectChunks(data []byte, size int) ([]Chunk, error) {
	var out []Chunk
	for c, err := range Chunks(bytes.NewReader(data), size) {
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}

func TestChunks(t *testing.T) {
	tests := []struct {
		name      string
		payload   int
		chunkSize int
		wantSizes []int
		wantErr   string
	}{
		{"one byte", 1, 4, []int{1}, ""},
		{"exactly one chunk", 4, 4, []int{4}, ""},
		{"one over", 5, 4, []int{4, 1}, ""},
		{"three chunks", 12, 4, []int{4, 4, 4}, ""},
		{"default size", DefaultChunkSize + 10, 0, []int{DefaultChunkSize, 10}, ""},
		{"max size", MaxChunkSize, MaxChunkSize, []int{MaxChunkSize}, ""},
		{"empty", 0, 4, nil, "empty"},
		{"negative size", 10, -1, nil, "chunk size"},
		{"too large size", 10, MaxChunkSize + 1, nil, "chunk size"},
		{"too many chunks", MaxChunks + 1, 1, nil, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := make([]byte, tt.payload)
			for i := range data {
				data[i] = byte(i * 7)
			}
			chunks, err := collectChunks(data, tt.chunkSize)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var joined []byte
			for i, c := range chunks {
				if c.Index != i || c.Name != ChunkName(i) || len(c.Data) != tt.wantSizes[i] {
					t.Errorf("chunk %d: got %d %s %d bytes", i, c.Index, c.Name, len(c.Data))
				}
				joined = append(joined, c.Data...)
			}
			if len(chunks) != len(tt.wantSizes) || !bytes.Equal(joined, data) {
				t.Fatalf("got %d chunks, want %d, reassembled equal: %v", len(chunks), len(tt.wantSizes), bytes.Equal(joined, data))
			}
		})
	}
}

func TestChunksStopsWhenAsked(t *testing.T) {
	n := 0
	for range Chunks(bytes.NewReader(make([]byte, 100)), 10) {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("got %d chunks after break, want 2", n)
	}
}

func TestChunkName(t *testing.T) {
	for i, want := range map[int]string{0: "chunk-00000", 42: "chunk-00042", 99999: "chunk-99999"} {
		if got := ChunkName(i); got != want {
			t.Errorf("ChunkName(%d) = %s, want %s", i, got, want)
		}
	}
}
