package workloads_test

import (
	"fmt"
	"testing"

	"github.com/edgelab/edgelab/workloads"
)

func TestProbeScratch(t *testing.T) {
	pre := "duration: 10s\nclients:\n  arrival:\n    rate: 1\nservers:\n  - count: 1\n    service: {mean: 1s}\n"
	cases := []string{
		pre + "    queue: 1.5\n",
		pre + "  - count: 1\n    service: {mean: 1s}\n",
		pre + "  - name: group1\n    count: 1\n    service: {mean: 1s}\n",
		"duration: 2562047h\nwarmup: 2562046h\nclients:\n  arrival:\n    rate: 1\nservers:\n  - count: 1\n    service: {mean: 1s}\n",
		pre + "seed: 0\n",
		pre + "servers: ~\n",
		"duration: 10s\nclients:\n  arrival:\n    rate: 1\n  keys: {dist: zipf, n: 0}\nservers:\n  - count: 1\n    service: {mean: 1s}\n",
	}
	for _, c := range cases {
		sc, err := workloads.Parse([]byte(c), "bad.yaml", nil)
		if err != nil {
			fmt.Printf("%q\n   => %v\n", c, err)
		} else {
			fmt.Printf("%q\n   ok %+v\n", c, sc)
		}
	}
}
