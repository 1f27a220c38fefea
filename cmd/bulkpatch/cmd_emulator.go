package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

func (e *env) emulatorCmd() *cobra.Command {
	var cfg emulator.Config
	c := &cobra.Command{Use: "emulator", Args: args(0, "no arguments")}
	cfg.Bind(c.Flags())
	c.RunE = runE(func(ctx context.Context, _ []string) error {
		err := cfg.Serve(ctx, e.stdout, e.stderr)
		if ce := (*emulator.ConfigError)(nil); errors.As(err, &ce) {
			return &usageError{cmd: c.CommandPath(), err: ce.Err}
		}
		return err
	})
	return c
}
