package strategies

import (
	"slices"
	"testing"
)

// lruOrder walks l from front to back, checks that walking back to front
// gives the reverse, and returns the front-to-back order.
func lruOrder(t *testing.T, l *lruList) []int32 {
	t.Helper()
	var fwd, bwd []int32
	prev := int32(-1)
	for i := l.head; i >= 0; i = l.links[i].next {
		if l.links[i].prev != prev {
			t.Fatalf("slot %d: prev %d, want %d", i, l.links[i].prev, prev)
		}
		if len(fwd) > len(l.links) {
			t.Fatal("cycle in the recency list")
		}
		fwd = append(fwd, i)
		prev = i
	}
	if l.tail != prev {
		t.Fatalf("tail %d, want %d", l.tail, prev)
	}
	for i := l.tail; i >= 0; i = l.links[i].prev {
		bwd = append(bwd, i)
	}
	slices.Reverse(bwd)
	if !slices.Equal(fwd, bwd) {
		t.Fatalf("front to back %v, back to front reversed %v", fwd, bwd)
	}
	return fwd
}

func TestLRUList(t *testing.T) {
	type op struct {
		name string // grow, push, unlink, release, reuse
		i    int32  // slot for push, unlink and release; result of grow and reuse
	}
	for _, c := range []struct {
		name  string
		ops   []op
		order []int32 // front to back
		back  int32
	}{
		{"empty", nil, nil, -1},
		{"grow leaves slots unlinked", []op{{"grow", 0}, {"grow", 1}}, nil, -1},
		{"push one", []op{{"grow", 0}, {"push", 0}}, []int32{0}, 0},
		{"push to front", []op{{"grow", 0}, {"grow", 1}, {"grow", 2}, {"push", 0}, {"push", 1}, {"push", 2}}, []int32{2, 1, 0}, 0},
		{"unlink back", []op{{"grow", 0}, {"grow", 1}, {"grow", 2}, {"push", 0}, {"push", 1}, {"push", 2}, {"unlink", 0}}, []int32{2, 1}, 1},
		{"unlink front", []op{{"grow", 0}, {"grow", 1}, {"grow", 2}, {"push", 0}, {"push", 1}, {"push", 2}, {"unlink", 2}}, []int32{1, 0}, 0},
		{"unlink middle", []op{{"grow", 0}, {"grow", 1}, {"grow", 2}, {"push", 0}, {"push", 1}, {"push", 2}, {"unlink", 1}}, []int32{2, 0}, 0},
		{"unlink only", []op{{"grow", 0}, {"push", 0}, {"unlink", 0}}, nil, -1},
		{"move back to front", []op{{"grow", 0}, {"grow", 1}, {"grow", 2}, {"push", 0}, {"push", 1}, {"push", 2}, {"unlink", 0}, {"push", 0}}, []int32{0, 2, 1}, 1},
		{"reuse with nothing free", []op{{"grow", 0}, {"push", 0}, {"reuse", -1}}, []int32{0}, 0},
		{"release and reuse, last released first", []op{
			{"grow", 0}, {"grow", 1}, {"grow", 2}, {"push", 0}, {"push", 1}, {"push", 2},
			{"release", 0}, {"release", 2}, {"reuse", 2}, {"reuse", 0}, {"reuse", -1},
		}, []int32{1}, 1},
		{"reused slot can be pushed", []op{
			{"grow", 0}, {"grow", 1}, {"push", 0}, {"push", 1},
			{"release", 0}, {"reuse", 0}, {"push", 0}, {"grow", 2}, {"push", 2},
		}, []int32{2, 0, 1}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var l lruList
			l.init(2)
			for _, o := range c.ops {
				switch o.name {
				case "grow":
					if got := l.grow(); got != o.i {
						t.Fatalf("grow = %d, want %d", got, o.i)
					}
				case "push":
					l.pushFront(o.i)
				case "unlink":
					l.unlink(o.i)
				case "release":
					l.release(o.i)
				case "reuse":
					if got := l.reuse(); got != o.i {
						t.Fatalf("reuse = %d, want %d", got, o.i)
					}
				default:
					t.Fatalf("unknown op %q", o.name)
				}
				lruOrder(t, &l) // consistent after every step
			}
			if got := lruOrder(t, &l); !slices.Equal(got, c.order) {
				t.Errorf("order %v, want %v", got, c.order)
			}
			if got := l.back(); got != c.back {
				t.Errorf("back = %d, want %d", got, c.back)
			}
		})
	}
}
