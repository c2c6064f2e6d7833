package client_test

import (
	"fmt"
	"time"

	"github.com/tickwire/tickwire/client"
)

// One member's frames through a jitter buffer with 40 ms of delay: frame 3
// is lost, frame 5 comes late. The audio callback pops once per 20 ms.
func ExampleJitter() {
	j, err := client.NewJitter(client.JitterConfig{Delay: 40 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	start := time.Unix(1_764_115_200, 0)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	arrivals := map[int][]uint32{0: {1}, 20: {2}, 60: {4}, 100: {6}, 140: {5}} // ms → seqs
	for ms := 0; ms <= 140; ms += 20 {
		for _, seq := range arrivals[ms] {
			j.Push(at(ms), seq, seq*960, []byte{byte(seq)})
		}
		o := j.Pop(at(ms))
		fmt.Printf("%d ms: %s %d\n", ms, o.Kind, o.Seq)
	}
	st := j.Stats()
	fmt.Printf("played %d, concealed %d, lost %d, late %d\n", st.Played, st.Concealed, st.Lost, st.Late)
	// Output:
	// 0 ms: none 0
	// 20 ms: none 0
	// 40 ms: frame 1
	// 60 ms: frame 2
	// 80 ms: conceal 3
	// 100 ms: frame 4
	// 120 ms: conceal 5
	// 140 ms: frame 6
	// played 4, concealed 2, lost 2, late 1
}
