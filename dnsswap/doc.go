// Package dnsswap moves DNS records from the old database (or load
// balancer) to the new one, the way the night needs it done:
//
//   - LowerTTL, days before: every record's TTL goes down to
//     dns.cutover_ttl (same values), and the state file in state_dir
//     records when and from what, and the record's value on the old side.
//   - Swap, on the night: reads every record's TTL again (an alias's: its
//     target's; ttl.go) and refuses one above cutover_ttl, or a swap while
//     a client may still cache a value under the old TTL, counted from the
//     lowering or from a raise or change seen since (unless forced); then
//     every record changes in one atomic compare-and-swap — a Route 53
//     ChangeBatch that deletes each record set exactly as read and creates
//     its new value (a concurrent change fails it whole), or one RFC 2136
//     UPDATE whose prerequisites assert the old values — and once the
//     provider reports it in sync, each authoritative server is queried
//     directly until all answer the new values; the resolver a client uses is asked too, to
//     report what clients see and for how long they may cache it.
//   - Swap with Reverse restores the recorded old values the same way;
//     Plan prints the exact changes and changes nothing; Status tells
//     where each record points.
//
// Providers (Route 53 through aws-sdk-go-v2, RFC 2136 with TSIG through
// miekg/dns) sit behind the Provider interface: read record sets, apply
// changes atomically, list the zone's name servers. Refusals before
// anything changed are *RefusedError (exit 2); a change that did not reach
// every server in time is *PropagationError (exit 1).
//
// It imports no other top-level package of switcharoo.
package dnsswap
