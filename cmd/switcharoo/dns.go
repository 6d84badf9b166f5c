package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/switcharoo/switcharoo/dnsswap"
)

func (c *cli) dnsCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Lower TTLs, swap and check the DNS records of the night",
		Long: `Works on the records listed in dns.records, through Route 53 or RFC 2136
(dns.provider). See docs/dns.md.`,
	}
	outputFlag(cmd.PersistentFlags(), &output)
	swapper := func(cmd *cobra.Command) (*dnsswap.Swapper, error) {
		if err := checkOutput(output); err != nil {
			return nil, err
		}
		cfg, err := c.loadConfig()
		if err != nil {
			return nil, err
		}
		return dnsswap.New(cmd.Context(), cfg, c.log)
	}
	emit := func(v any, text func(w io.Writer) error) error {
		if output == "json" {
			return c.printJSON(v)
		}
		return text(c.stdout)
	}

	var reverse, force bool
	plan := &cobra.Command{
		Use:   "plan",
		Short: "Print the exact changes a swap would make; changes nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := swapper(cmd)
			if err != nil {
				return err
			}
			p, err := s.Plan(cmd.Context(), reverse)
			if err != nil {
				return err
			}
			return emit(p, func(w io.Writer) error { return writePlan(w, p) })
		},
	}
	plan.Flags().BoolVar(&reverse, "reverse", false, "plan the swap back to the recorded old values")

	lower := &cobra.Command{
		Use:   "lower-ttl",
		Short: "Lower every record's TTL to dns.cutover_ttl, days before the night",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := swapper(cmd)
			if err != nil {
				return err
			}
			l, err := s.LowerTTL(cmd.Context())
			if err != nil {
				return err
			}
			return emit(l, func(w io.Writer) error {
				for _, r := range l {
					if _, err := fmt.Fprintf(w, "%s: TTL %d → %d; swap allowed from %s (in %s)\n", r.Key, r.OldTTL, r.NewTTL,
						r.SwapAllowedAt.Format(time.RFC3339), time.Until(r.SwapAllowedAt).Round(time.Second)); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}

	swap := &cobra.Command{
		Use:   "swap",
		Short: "Point every record at the new side in one atomic change, and check propagation",
		Long: `Points every record of dns.records at its target in one atomic change (one
Route 53 ChangeBatch of UPSERTs, or one RFC 2136 UPDATE whose prerequisites
assert the old values), waits until the change is in sync, then queries each
authoritative server until all answer the new values. The old values are
recorded for swap --reverse.

Right before the change it reads each record's TTL (for a Route 53 alias, its
target's) and prints it: how long clients may cache the old value. Refused
(exit 2) while a TTL is above dns.cutover_ttl (raised after lower-ttl), or
while the old TTL has not expired since lower-ttl (or since a raise or change
was seen), unless --force. Exit 1 when the change was made but did not reach every
authoritative server within dns.propagation_timeout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := swapper(cmd)
			if err != nil {
				return err
			}
			report, err := s.Swap(cmd.Context(), dnsswap.SwapOptions{Reverse: reverse, Force: force})
			var notConverged *dnsswap.PropagationError
			if err != nil && !errors.As(err, &notConverged) {
				return err
			}
			if werr := emit(report, func(w io.Writer) error { return writeSwap(w, report) }); werr != nil {
				return werr
			}
			return err
		},
	}
	swap.Flags().BoolVar(&reverse, "reverse", false, "restore the values recorded before the swap")
	swap.Flags().BoolVar(&force, "force", false, "swap even though clients may still cache the old values")

	status := &cobra.Command{
		Use:   "status",
		Short: "Show each record's current value and TTL, and whether it points at source or target",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := swapper(cmd)
			if err != nil {
				return err
			}
			st, err := s.Status(cmd.Context())
			if err != nil {
				return err
			}
			return emit(st, func(w io.Writer) error {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "RECORD\tTYPE\tVALUE\tTTL\tPOINTS AT\tSWAP ALLOWED FROM")
				for _, r := range st {
					allowed := "-"
					if !r.SwapAllowedAt.IsZero() {
						allowed = r.SwapAllowedAt.Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.Current.Name, r.Current.Type, r.Current.ValueString(), r.Current.TTL, r.PointsAt, allowed)
				}
				return tw.Flush()
			})
		},
	}
	cmd.AddCommand(plan, lower, swap, status)
	return cmd
}

func writePlan(w io.Writer, plan []dnsswap.Planned) error {
	for _, p := range plan {
		if _, err := fmt.Fprintln(w, p); err != nil {
			return err
		}
	}
	return nil
}

func writeSwap(w io.Writer, r *dnsswap.SwapReport) error {
	var b strings.Builder
	for _, t := range r.TTLs {
		fmt.Fprintf(&b, "TTL read before the change: %s\n", t)
	}
	for _, p := range r.Changes {
		fmt.Fprintln(&b, p)
	}
	for _, p := range r.Propagation {
		if p.Note != "" {
			fmt.Fprintf(&b, "%s: %s\n", p.Key, p.Note)
		}
		for _, a := range p.Servers {
			state := fmt.Sprintf("answers %s after %dms", strings.Join(a.Values, ", "), a.AfterMS)
			if !a.Converged {
				state = fmt.Sprintf("still answers %q (%s)", strings.Join(a.Values, ", "), a.Error)
			}
			fmt.Fprintf(&b, "%s at %s: %s\n", p.Key, a.Server, state)
		}
	}
	for _, a := range r.Resolver {
		if a.Error != "" {
			fmt.Fprintf(&b, "resolver %s: %s\n", a.Server, a.Error)
			continue
		}
		fmt.Fprintf(&b, "%s via resolver %s: a client sees %s (cached for up to %ds)\n", a.Record, a.Server, strings.Join(a.Values, ", "), a.TTL)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
