// Package dnsswap moves DNS records from the old database (or load
// balancer) to the new one: TTL lowering days before, one atomic UPSERT
// batch on the night, and propagation checks against every authoritative
// server. Route 53 and RFC 2136 (TSIG-signed DNS UPDATE) sit behind one
// Provider interface.
//
// It imports no other top-level package. The providers arrive with the DNS
// issue; this file reserves the package.
package dnsswap
