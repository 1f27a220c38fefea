// Command bulkpatch reconciles Intune app install statuses in Microsoft
// Graph with a CSV file. See README.md and the usage text below.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// The first SIGINT/SIGTERM cancels ctx: dispatching stops, rows in
	// flight finish and the results are written. A second one ends the
	// process at once; the journal still knows every finished row.
	ctx, cancel := context.WithCancel(context.Background())
	e := newEnv(os.Stdin, os.Stdout, os.Stderr)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		note := e.interrupting.Load()
		if note != nil {
			fmt.Fprintln(e.stderr, "bulkpatch: interrupted: "+*note+" (interrupt again to abort at once)")
		}
		cancel()
		<-sigs
		msg := "bulkpatch: aborted"
		if note != nil {
			msg += "; the journal keeps every finished row: the same command line continues"
		}
		fmt.Fprintln(e.stderr, msg)
		os.Exit(exitInterrupted)
	}()
	os.Exit(e.run(ctx, os.Args[1:]))
}
