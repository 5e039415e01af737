// Command ironfed is the operator's entry point: `ironfed up` starts a local chained federation
// and tears it down on Ctrl-C; `ironfed join` prepares a downstream cluster for a broker;
// `ironfed forget` is the way out when a pool's downstream is gone for good.
package main

import (
	"fmt"
	"os"
)

func main() {
	cmds := map[string]func(args []string) error{"up": up, "join": joinCmd, "forget": forgetCmd}
	if len(os.Args) < 2 || cmds[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, `usage:
  ironfed up [flags]     start a local federation (root → region → leaf by default); --help for flags
  ironfed join [flags]   give a broker a namespace-limited identity in a downstream cluster; --help for flags
  ironfed forget [flags] release the objects of a pool whose provider is gone for good; --help for flags`)
		os.Exit(2)
	}
	if err := cmds[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "ironfed %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
