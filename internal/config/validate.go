package config

import (
	"net/url"

	"crypto/tls"
	"crypto/x509"
	"fmt"
	"github.com/miekg/dns"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// validate checks the decoded configuration: required keys, ranges, enums,
// patterns and files. Source, target and replication are checked in full;
// the other sections only as far as their shape is settled.
func validate(c *Config, r *report) {
	if strings.TrimSpace(c.StateDir) == "" {
		r.add("state_dir", "required: a directory for the journal, lock and state files, e.g. ./.switcharoo")
	}
	validateEndpoint(r, "source", &c.Source)
	validateEndpoint(r, "target", &c.Target)
	if c.Source.Host != "" && sameServer(c.Source, c.Target) {
		r.add("target", "is the same server as source (%s); the target must be the new database",
			net.JoinHostPort(c.Source.Host, strconv.Itoa(c.Source.Port)))
	}
	validateReplication(r, &c.Replication)
	validateDNS(r, &c.DNS)
	validateApp(r, &c.App)
	validateChecks(r, &c.Checks)
	validateCutover(r, &c.Cutover)
	validateAppMode(r, c)
	validateAWS(r, &c.AWS)
}

// validateAppMode checks that the actions fit the night's shape: one that
// keeps serving stops no service it redeploys (that would scale the web
// service to 0) and moves the names before the redeploy (the tasks a
// rolling update replaces hold requests retrying against the fenced
// source until the names move).
func validateAppMode(r *report, c *Config) {
	switch c.Cutover.AppMode {
	case AppModeStopAll:
		return
	case AppModeKeepServing:
	default:
		r.add("cutover.app_mode", "must be %s or %s, got %q", AppModeStopAll, AppModeKeepServing, c.Cutover.AppMode)
		return
	}
	deployed := map[string]bool{}
	for _, a := range c.App.Deploy {
		if a.Kind == ActionECSService {
			deployed[a.Cluster+"/"+a.Service] = true
		}
	}
	for i, a := range c.App.Stop {
		if a.Kind == ActionECSService && deployed[a.Cluster+"/"+a.Service] {
			r.add(fmt.Sprintf("app.stop[%d]", i), "stops ECS service %s/%s, which app.deploy redeploys: with cutover.app_mode: %s web services are never scaled to 0; stop only crons and batch writers (or use app_mode: %s)",
				a.Cluster, a.Service, AppModeKeepServing, AppModeStopAll)
		}
	}
	if c.DNS.Provider == "" && len(c.App.Deploy) > 0 {
		r.add("dns.provider", "required with cutover.app_mode: %s when app.deploy moves the application: without a name the night swaps, only the redeploy points tasks at the target, and the tasks it has not replaced yet keep writing to the fenced source, failing users' requests for the whole rollout; let the application reach the database through a DNS name (dns section), or use app_mode: %s",
			AppModeKeepServing, AppModeStopAll)
	}
	if c.DNS.Provider != "" && len(c.App.Deploy) > 0 && c.Cutover.DNSSwap != DNSSwapBeforeDeploy {
		r.add("cutover.dns_swap", "must be %s with cutover.app_mode: %s: the tasks a rolling redeploy replaces keep retrying against the fenced source until the names move, and would be stopped with those requests unanswered",
			DNSSwapBeforeDeploy, AppModeKeepServing)
	}
}

func validateEndpoint(r *report, key string, e *Endpoint) {
	if strings.TrimSpace(e.Host) == "" {
		r.add(key+".host", "required: the MySQL server's host name or IP address")
	}
	if e.Port < 1 || e.Port > 65535 {
		r.add(key+".port", "must be 1..65535, got %d", e.Port)
	}
	if strings.TrimSpace(e.User) == "" {
		r.add(key+".user", "required: the MySQL user switcharoo connects as")
	}
	atLeast(r, key+".connect_timeout", e.ConnectTimeout, time.Second)
	tlsKey := key + ".tls"
	if !slices.Contains(TLSModes, e.TLS.Mode) {
		r.add(tlsKey+".mode", "must be one of %s, got %q", strings.Join(TLSModes, ", "), e.TLS.Mode)
	}
	if e.TLS.CA != "" {
		if pem, err := os.ReadFile(e.TLS.CA); err != nil {
			r.add(tlsKey+".ca", "cannot read %s: %s", e.TLS.CA, fileReason(err))
		} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			r.add(tlsKey+".ca", "%s holds no PEM certificate", e.TLS.CA)
		}
	}
	switch {
	case (e.TLS.Cert == "") != (e.TLS.Key == ""):
		r.add(tlsKey+".cert", "tls.cert and tls.key go together: set both or neither")
	case e.TLS.Cert != "":
		if _, err := tls.LoadX509KeyPair(e.TLS.Cert, e.TLS.Key); err != nil {
			r.add(tlsKey+".cert", "cannot load the client certificate %s with key %s: %s", e.TLS.Cert, e.TLS.Key, fileReason(err))
		}
	}
	if e.TLS.Mode == TLSDisabled && (e.TLS.CA != "" || e.TLS.Cert != "") {
		r.add(tlsKey+".mode", "is disabled but tls.ca or tls.cert is set; choose a mode that uses them, or remove them")
	}
}

func sameServer(a, b Endpoint) bool {
	return strings.EqualFold(a.Host, b.Host) && a.Port == b.Port
}

func validateReplication(r *report, rep *Replication) {
	const key = "replication"
	if rep.ServerID == 0 {
		r.add(key+".server_id", "required: a server_id no other replica of the source uses, 1..4294967295")
	}
	if len(rep.Databases) == 0 {
		r.add(key+".databases", "required: glob patterns of the source databases to replicate, e.g. [app, \"shop_*\"]")
	}
	for i, p := range rep.Databases {
		checkGlob(r, fmt.Sprintf("%s.databases[%d]", key, i), p, false)
	}
	for _, list := range []struct {
		key      string
		patterns []string
	}{{"tables", rep.Tables}, {"exclude_tables", rep.ExcludeTables}, {"allow_no_key", rep.AllowNoKey}} {
		for i, p := range list.patterns {
			checkGlob(r, fmt.Sprintf("%s.%s[%d]", key, list.key, i), p, true)
		}
	}
	seenSource, seenTarget := map[string]bool{}, map[string]bool{}
	for i, m := range rep.DatabaseMap {
		k := fmt.Sprintf("%s.database_map[%d]", key, i)
		switch {
		case m.Source == "":
			r.add(k+".source", "required: the source database name")
		case !matchesAny(rep.Databases, m.Source):
			r.add(k+".source", "%q is not matched by replication.databases", m.Source)
		case seenSource[m.Source]:
			r.add(k+".source", "%q is mapped twice", m.Source)
		}
		if msg := identifierProblem(m.Target); msg != "" {
			r.add(k+".target", "%s", msg)
		} else if seenTarget[m.Target] {
			r.add(k+".target", "%q is the target of two databases", m.Target)
		}
		seenSource[m.Source], seenTarget[m.Target] = true, true
	}
	if msg := identifierProblem(rep.CheckpointSchema); msg != "" {
		r.add(key+".checkpoint_schema", "%s", msg)
	} else if matchesAny(rep.Databases, rep.CheckpointSchema) {
		r.add(key+".checkpoint_schema", "%q is matched by replication.databases; the replicator's own schema must not be replicated", rep.CheckpointSchema)
	}
	between(r, key+".workers", rep.Workers, 1, 64)
	between(r, key+".copy_chunk_rows", rep.CopyChunkRows, 1, 1_000_000)
	between(r, key+".apply_batch_rows", rep.ApplyBatchRows, 1, 1_000_000)
	if !slices.Contains(DDLPolicies, rep.DDL) {
		r.add(key+".ddl", "must be one of %s, got %q", strings.Join(DDLPolicies, ", "), rep.DDL)
	}
	if !slices.Contains(DivergencePolicies, rep.OnDivergence) {
		r.add(key+".on_divergence", "must be one of %s, got %q", strings.Join(DivergencePolicies, ", "), rep.OnDivergence)
	}
	if rep.ApplyBatchDelay > 10*time.Second {
		r.add(key+".apply_batch_delay", "must be at most 10s (it adds to the lag), got %s", rep.ApplyBatchDelay)
	}
	if rep.Heartbeat != 0 {
		atLeast(r, key+".heartbeat", rep.Heartbeat, 100*time.Millisecond)
	}
	atLeast(r, key+".stall_timeout", rep.StallTimeout, time.Second)
	atLeast(r, key+".max_backoff", rep.MaxBackoff, 100*time.Millisecond)
	atLeast(r, key+".progress_interval", rep.ProgressInterval, time.Second)
}

// TSIGAlgorithms lists the accepted dns.rfc2136.tsig_algorithm values.
var TSIGAlgorithms = []string{"hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5"}

func validateDNS(r *report, d *DNS) {
	switch d.Provider {
	case "":
		if len(d.Records) > 0 {
			r.add("dns.provider", "required when dns.records are set: route53 or rfc2136")
		}
		return
	case DNSRoute53, DNSRFC2136:
	default:
		r.add("dns.provider", "must be route53, rfc2136, or empty for no DNS swap, got %q", d.Provider)
		return
	}
	zone := dns.Fqdn(d.Zone)
	if _, ok := dns.IsDomainName(d.Zone); d.Zone == "" || !ok {
		r.add("dns.zone", "required: the zone holding the records, e.g. example.com")
	}
	between(r, "dns.cutover_ttl", d.CutoverTTL, 1, 86400)
	atLeast(r, "dns.propagation_timeout", d.PropagationTimeout, time.Second)
	for i, ns := range d.Nameservers {
		checkHostPort(r, fmt.Sprintf("dns.nameservers[%d]", i), ns)
	}
	if d.Resolver != "" {
		checkHostPort(r, "dns.resolver", d.Resolver)
	}
	if len(d.Records) == 0 {
		r.add("dns.records", "required: the records to swap, each {name, type, target}")
	}
	seen := map[string]bool{}
	for i, rec := range d.Records {
		k := fmt.Sprintf("dns.records[%d]", i)
		name := RecordName(rec.Name, d.Zone)
		switch _, ok := dns.IsDomainName(rec.Name); {
		case rec.Name == "":
			r.add(k+".name", "required: the record's name, fully qualified or relative to dns.zone")
		case !ok:
			r.add(k+".name", "%q is not a valid DNS name", rec.Name)
		case !dns.IsSubDomain(zone, name):
			r.add(k+".name", "%s is not in dns.zone %s", name, zone)
		case seen[name+" "+rec.Type]:
			r.add(k+".name", "%s %s is listed twice", name, rec.Type)
		}
		seen[name+" "+rec.Type] = true
		if !slices.Contains([]string{"A", "AAAA", "CNAME"}, rec.Type) {
			r.add(k+".type", "must be A, AAAA or CNAME, got %q", rec.Type)
			continue
		}
		switch {
		case rec.Alias.IsSet() && rec.Target != "":
			r.add(k+".target", "set either target or alias, not both")
		case rec.Alias.IsSet() && d.Provider != DNSRoute53:
			r.add(k+".alias", "alias targets exist only in Route 53 (dns.provider: route53)")
		case rec.Alias.IsSet() && (rec.Alias.HostedZoneID == "" || rec.Alias.DNSName == ""):
			r.add(k+".alias", "needs hosted_zone_id and dns_name (of the load balancer or other alias target)")
		case !rec.Alias.IsSet():
			if msg := targetProblem(rec.Type, rec.Target); msg != "" {
				r.add(k+".target", "%s", msg)
			}
		}
	}
	switch d.Provider {
	case DNSRFC2136:
		checkHostPort(r, "dns.rfc2136.server", d.RFC2136.Server)
		if d.RFC2136.TSIGName == "" {
			r.add("dns.rfc2136.tsig_name", "required: the name of the TSIG key the server accepts updates with")
		}
		if !slices.Contains(TSIGAlgorithms, d.RFC2136.TSIGAlgorithm) {
			r.add("dns.rfc2136.tsig_algorithm", "must be one of %s, got %q", strings.Join(TSIGAlgorithms, ", "), d.RFC2136.TSIGAlgorithm)
		}
	}
}

// RecordName makes a record name fully qualified, relative names being
// relative to the zone.
func RecordName(name, zone string) string {
	if dns.IsFqdn(name) {
		return strings.ToLower(name)
	}
	return strings.ToLower(dns.Fqdn(name + "." + strings.TrimSuffix(zone, ".")))
}

// targetProblem says what is wrong with a record's new value, or "".
func targetProblem(typ, target string) string {
	if target == "" {
		return "required: the record's value after the swap (or alias, in Route 53)"
	}
	if typ == "CNAME" {
		if _, ok := dns.IsDomainName(target); !ok || strings.Contains(target, ",") {
			return fmt.Sprintf("%q is not a host name", target)
		}
		return ""
	}
	for _, v := range strings.Split(target, ",") {
		ip := net.ParseIP(strings.TrimSpace(v))
		if ip == nil || (typ == "A") != (ip.To4() != nil) {
			return fmt.Sprintf("%q is not an IPv%s address (several are comma-separated)", strings.TrimSpace(v), map[string]string{"A": "4", "AAAA": "6"}[typ])
		}
	}
	return ""
}

func checkHostPort(r *report, key, v string) {
	host, port, err := net.SplitHostPort(v)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		r.add(key, "must be host:port, e.g. ns1.example.com:53, got %q", v)
	}
}

func validateAWS(r *report, a *AWS) {
	if a.Region == "" {
		r.add("aws.region", "required: the AWS region, e.g. eu-west-1")
	}
	for _, e := range []struct{ key, v string }{
		{"aws.endpoints.route53", a.Endpoints.Route53}, {"aws.endpoints.ecs", a.Endpoints.ECS},
		{"aws.endpoints.events", a.Endpoints.Events}, {"aws.endpoints.scheduler", a.Endpoints.Scheduler},
	} {
		if e.v == "" {
			continue
		}
		if u, err := url.Parse(e.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.add(e.key, "must be an http(s) URL such as https://route53.amazonaws.com, got %q", e.v)
		}
	}
}

// ActionKinds lists the accepted app action kinds.
var ActionKinds = []string{ActionECSService, ActionEventBridgeRule, ActionSchedulerSchedule, ActionExec, ActionHTTP}

func validateApp(r *report, a *App) {
	for _, list := range []struct {
		key     string
		actions []Action
	}{{"app.stop", a.Stop}, {"app.deploy", a.Deploy}, {"app.start", a.Start}} {
		for i, act := range list.actions {
			validateAction(r, fmt.Sprintf("%s[%d]", list.key, i), list.key == "app.deploy", &act)
		}
	}
}

func validateAction(r *report, k string, deploy bool, a *Action) {
	required := func(field, v, what string) {
		if strings.TrimSpace(v) == "" {
			r.add(k+"."+field, "required for kind %s: %s", a.Kind, what)
		}
	}
	switch a.Kind {
	case ActionECSService:
		required("cluster", a.Cluster, "the ECS cluster's name or ARN")
		required("service", a.Service, "the ECS service's name")
		if !deploy && (a.Image != "" || a.Container != "" || len(a.Environment) > 0) {
			r.add(k+".environment", "image, container and environment are used by ecs-service actions in app.deploy only")
		}
	case ActionEventBridgeRule, ActionSchedulerSchedule:
		if a.Kind == ActionEventBridgeRule {
			required("rule", a.Rule, "the EventBridge rule's name")
		} else {
			required("schedule", a.Schedule, "the EventBridge Scheduler schedule's name")
		}
		if deploy {
			r.add(k+".kind", "%s belongs in app.stop (disable) and app.start (restore), not app.deploy", a.Kind)
		}
	case ActionExec:
		if len(a.Command) == 0 || a.Command[0] == "" {
			r.add(k+".command", "required for kind exec: the command and its arguments, e.g. [ansible-playbook, stop-web.yml]")
		}
	case ActionHTTP:
		for _, u := range []struct{ key, v string }{{"url", a.URL}, {"undo_url", a.UndoURL}} {
			if u.v == "" && u.key == "undo_url" {
				continue
			}
			if p, err := url.Parse(u.v); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				r.add(k+"."+u.key, "must be an http(s) URL, got %q", u.v)
			}
		}
		if a.Method != "" && !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, a.Method) {
			r.add(k+".method", "must be GET, POST, PUT, PATCH or DELETE, got %q", a.Method)
		}
		if a.ExpectStatus != 0 {
			between(r, k+".expect_status", a.ExpectStatus, 100, 599)
		}
	default:
		r.add(k+".kind", "must be one of %s, got %q", strings.Join(ActionKinds, ", "), a.Kind)
	}
	for j, e := range a.Environment {
		if e.Name == "" {
			r.add(fmt.Sprintf("%s.environment[%d].name", k, j), "required: the variable's name")
		}
	}
}

func validateChecks(r *report, c *Checks) {
	if p := c.SQLProbe; p.Host != "" {
		between(r, "checks.sql_probe.port", p.Port, 1, 65535)
		if p.User == "" {
			r.add("checks.sql_probe.user", "required with checks.sql_probe.host: an application user (not a SUPER user, which read_only does not stop)")
		}
	}
	for i, h := range c.HTTP {
		if u, err := url.Parse(h.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.add(fmt.Sprintf("checks.http[%d].url", i), "must be an http(s) URL, got %q", redactURL(h.URL))
		}
		if h.ExpectStatus != 0 {
			between(r, fmt.Sprintf("checks.http[%d].expect_status", i), h.ExpectStatus, 100, 599)
		}
	}
	for _, u := range [][2]string{{"read_url", c.HTTPProbe.ReadURL}, {"write_url", c.HTTPProbe.WriteURL}} {
		if p, err := url.Parse(u[1]); u[1] != "" && (err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "") {
			r.add("checks.http_probe."+u[0], "must be an http(s) URL, got %q", redactURL(u[1]))
		}
	}
	between(r, "checks.http_probe.rate", c.HTTPProbe.Rate, 1, 1000)
	atLeast(r, "checks.http_probe.timeout", c.HTTPProbe.Timeout, 100*time.Millisecond)
	between(r, "checks.verify.chunk_rows", c.Verify.ChunkRows, 1, 1_000_000)
	between(r, "checks.verify.workers", c.Verify.Workers, 1, 64)
	between(r, "checks.verify.max_rate", c.Verify.MaxRate, 0, 1<<30)
	between(r, "checks.verify.diff_limit", c.Verify.DiffLimit, 0, 1_000_000)
}

func validateCutover(r *report, c *Cutover) {
	if c.Verify != "full" && c.Verify != "fast" {
		r.add("cutover.verify", "must be full or fast, got %q", c.Verify)
	}
	if c.DNSSwap != DNSSwapAfterDeploy && c.DNSSwap != DNSSwapBeforeDeploy {
		r.add("cutover.dns_swap", "must be %s or %s, got %q", DNSSwapAfterDeploy, DNSSwapBeforeDeploy, c.DNSSwap)
	}
	atLeast(r, "cutover.catch_up_timeout", c.CatchUpTimeout, time.Second)
	atLeast(r, "cutover.health_timeout", c.HealthTimeout, time.Second)
	atLeast(r, "cutover.undo_timeout", c.UndoTimeout, time.Second)
	atLeast(r, "cutover.long_query", c.LongQuery, time.Second)
	if c.LongTransactionRows < 1 {
		r.add("cutover.long_transaction_rows", "must be at least 1, got %d", c.LongTransactionRows)
	}
	for i, u := range c.SuperUsers {
		if name, host, ok := strings.Cut(u, "@"); !ok || name == "" || host == "" {
			r.add(fmt.Sprintf("cutover.super_users[%d]", i), "must be name@host, as SHOW GRANTS names the account, got %q", u)
		}
	}
	for i, u := range c.AppUsers {
		if name, _, _ := strings.Cut(u, "@"); name == "" {
			r.add(fmt.Sprintf("cutover.app_users[%d]", i), "must be a user name, or name@host, got %q", u)
		}
	}
}

func between(r *report, key string, v, lo, hi int) {
	if v < lo || v > hi {
		r.add(key, "must be %d..%d, got %d", lo, hi, v)
	}
}

func atLeast(r *report, key string, v, lo time.Duration) {
	if v < lo {
		r.add(key, "must be at least %s, got %s", lo, v)
	}
}

// checkGlob validates a glob pattern; qualified patterns have the form
// "db.table", each part a glob.
func checkGlob(r *report, key, pattern string, qualified bool) {
	if pattern == "" {
		r.add(key, "must not be empty")
		return
	}
	if qualified && !strings.Contains(pattern, ".") {
		r.add(key, "must have the form db.table (each part may use * ? [..]), got %q", pattern)
		return
	}
	if _, err := path.Match(pattern, ""); err != nil {
		r.add(key, "is not a valid glob pattern: %q", pattern)
	}
}

func matchesAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// identifierProblem says what is wrong with a MySQL database name, or "".
func identifierProblem(name string) string {
	switch {
	case name == "":
		return "required: a database name"
	case len(name) > 64:
		return fmt.Sprintf("%q is longer than MySQL's 64 characters", name)
	case strings.HasSuffix(name, " ") || strings.ContainsAny(name, "/\\.\x00"):
		return fmt.Sprintf("%q is not a valid database name (no / \\ . NUL or trailing space)", name)
	}
	return ""
}

// redactURL is a URL as an error may quote it: the password of its user
// information (a site behind basic auth) replaced by xxxxx, whether the
// URL parses or not.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "", s
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return s
	}
	user, _, hasPW := strings.Cut(rest[:at], ":")
	if !hasPW {
		return s
	}
	if scheme != "" {
		scheme += "://"
	}
	return scheme + user + ":xxxxx" + rest[at:]
}
