package config

import (
	"time"

	"github.com/switcharoo/switcharoo/internal/secret"
)

// Config is the whole switcharoo configuration. The yaml tag of each field is
// its key; docs/config.md and examples/switcharoo.yaml describe every one.
//
// Maps whose keys are user data (database names, environment variable names)
// are written as lists of pairs: viper folds map keys to lower case.
type Config struct {
	// StateDir holds the journal, the lock and the state files.
	StateDir    string      `yaml:"state_dir"`
	Source      Endpoint    `yaml:"source"`
	Target      Endpoint    `yaml:"target"`
	Replication Replication `yaml:"replication"`
	DNS         DNS         `yaml:"dns"`
	App         App         `yaml:"app"`
	Checks      Checks      `yaml:"checks"`
	Cutover     Cutover     `yaml:"cutover"`
	AWS         AWS         `yaml:"aws"`
}

// Endpoint is how to reach one MySQL server.
type Endpoint struct {
	Host           string        `yaml:"host"`
	Port           int           `yaml:"port"`
	User           string        `yaml:"user"`
	PasswordEnv    string        `yaml:"password_env"`
	PasswordFile   string        `yaml:"password_file"`
	TLS            TLS           `yaml:"tls"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`

	// Password is resolved from PasswordEnv or PasswordFile by Load; it is
	// not a key of the file.
	Password secret.Value `yaml:"password" resolved:"true"`
}

// TLS modes, as the mysql client's --ssl-mode names them.
const (
	TLSDisabled       = "disabled"
	TLSPreferred      = "preferred"
	TLSRequired       = "required"
	TLSVerifyCA       = "verify-ca"
	TLSVerifyIdentity = "verify-identity"
)

// TLSModes lists the accepted tls.mode values.
var TLSModes = []string{TLSDisabled, TLSPreferred, TLSRequired, TLSVerifyCA, TLSVerifyIdentity}

// TLS configures the connection's encryption.
type TLS struct {
	Mode string `yaml:"mode"`
	// CA is a PEM bundle of the certificate authorities to trust (for
	// Aurora: the RDS global bundle). Empty: the system's roots.
	CA string `yaml:"ca"`
	// Cert and Key are a client certificate, when the server demands one.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// DDL policies for schema changes seen in the binlog.
const (
	DDLApply  = "apply"
	DDLStop   = "stop"
	DDLIgnore = "ignore"
)

// DDLPolicies lists the accepted replication.ddl values.
var DDLPolicies = []string{DDLApply, DDLStop, DDLIgnore}

// Divergence policies: what the applier does with a row change that finds
// the target in a state the source's did not have.
const (
	DivergenceStop = "stop"
	DivergenceLog  = "log"
)

// DivergencePolicies lists the accepted replication.on_divergence values.
var DivergencePolicies = []string{DivergenceStop, DivergenceLog}

// Replication configures the binlog replication engine.
type Replication struct {
	// ServerID identifies the replicator to the source; it must be unused.
	ServerID uint32 `yaml:"server_id"`
	// Databases are glob patterns of the source databases to replicate.
	Databases []string `yaml:"databases"`
	// Tables are glob patterns "db.table" to include; empty means all
	// tables of the selected databases.
	Tables []string `yaml:"tables"`
	// ExcludeTables are glob patterns "db.table" to leave out.
	ExcludeTables []string `yaml:"exclude_tables"`
	// DatabaseMap renames databases on the target.
	DatabaseMap []Rename `yaml:"database_map"`
	// AllowNoKey are glob patterns "db.table" of tables replicated although
	// they have neither a primary key nor a NOT NULL unique key.
	AllowNoKey []string `yaml:"allow_no_key"`
	// Workers is the number of parallel copy connections.
	Workers int `yaml:"workers"`
	// CopyChunkRows is the size of one primary-key range during the copy.
	CopyChunkRows int `yaml:"copy_chunk_rows"`
	// CheckpointSchema holds the checkpoint (on the target) and the
	// heartbeat (on the source).
	CheckpointSchema string `yaml:"checkpoint_schema"`
	// DDL is the policy for schema changes: apply, stop or ignore.
	DDL string `yaml:"ddl"`
	// OnDivergence is what a row change that finds the target in the wrong
	// state does: stop replication (as a native replica's 1032/1062), or
	// log it in the checkpoint schema and go on.
	OnDivergence string `yaml:"on_divergence"`
	// CompareBeforeImage makes an UPDATE or DELETE also find the target's
	// row equal, column by column, to the change's before-image, as a
	// check before it is applied: off, a row is found by its key, as a
	// native replica finds it.
	CompareBeforeImage bool `yaml:"compare_before_image"`
	// ApplyBatchRows and ApplyBatchDelay bound how many source transactions
	// share one target transaction: at most this many row changes, held at
	// most this long.
	ApplyBatchRows  int           `yaml:"apply_batch_rows"`
	ApplyBatchDelay time.Duration `yaml:"apply_batch_delay"`
	// Heartbeat writes a row on the source at this interval to measure
	// end-to-end lag; 0 turns it off (lag then comes from event times).
	Heartbeat time.Duration `yaml:"heartbeat"`
	// StallTimeout is how long the source stream may be silent before the
	// connection is considered dead and re-established.
	StallTimeout time.Duration `yaml:"stall_timeout"`
	// MaxBackoff caps the wait between reconnection attempts.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// ProgressInterval is how often copy and stream progress is logged.
	ProgressInterval time.Duration `yaml:"progress_interval"`
}

// Rename maps a source database to a differently named target database.
type Rename struct {
	Source string `yaml:"source"`
	Target string `yaml:"target"`
}

// DNS providers.
const (
	DNSRoute53 = "route53"
	DNSRFC2136 = "rfc2136"
)

// DNS configures the record swap.
type DNS struct {
	// Provider is route53, rfc2136, or empty for a night without DNS swap.
	Provider string `yaml:"provider"`
	// Zone is the zone holding the records, e.g. example.com.
	Zone string `yaml:"zone"`
	// CutoverTTL is the TTL, in seconds, records are lowered to days
	// before the night and keep through the swap.
	CutoverTTL int `yaml:"cutover_ttl"`
	// PropagationTimeout bounds the wait for every authoritative server to
	// answer the new values.
	PropagationTimeout time.Duration `yaml:"propagation_timeout"`
	// Nameservers are host:port of the zone's authoritative servers to
	// check after a swap; empty: the zone's NS records, on port 53.
	Nameservers []string `yaml:"nameservers"`
	// Resolver is host:port of the resolver a client would use; empty:
	// the system's (/etc/resolv.conf).
	Resolver string   `yaml:"resolver"`
	Route53  Route53  `yaml:"route53"`
	RFC2136  RFC2136  `yaml:"rfc2136"`
	Records  []Record `yaml:"records"`
}

// Route53 locates the hosted zone; without an ID it is found by dns.zone.
type Route53 struct {
	HostedZoneID string `yaml:"hosted_zone_id"`
}

// RFC2136 locates a DNS server that accepts TSIG-signed updates.
type RFC2136 struct {
	// Server is host:port of the primary server accepting DNS UPDATE.
	Server         string `yaml:"server"`
	TSIGName       string `yaml:"tsig_name"`
	TSIGAlgorithm  string `yaml:"tsig_algorithm"`
	TSIGSecretEnv  string `yaml:"tsig_secret_env"`
	TSIGSecretFile string `yaml:"tsig_secret_file"`

	// TSIGSecret is resolved by Load from TSIGSecretEnv or TSIGSecretFile.
	TSIGSecret secret.Value `yaml:"tsig_secret" resolved:"true"`
}

// Record is one DNS record the night points at the new side. Its current
// value is read live and recorded before it changes, for swap --reverse.
type Record struct {
	// Name is the record's name, fully qualified or relative to dns.zone.
	Name string `yaml:"name"`
	Type string `yaml:"type"`
	// Target is the value after the swap (several A or AAAA values are
	// comma-separated); a Route 53 alias record sets Alias instead.
	Target string `yaml:"target"`
	Alias  Alias  `yaml:"alias"`
}

// Alias is a Route 53 alias target.
type Alias struct {
	HostedZoneID         string `yaml:"hosted_zone_id"`
	DNSName              string `yaml:"dns_name"`
	EvaluateTargetHealth bool   `yaml:"evaluate_target_health"`
}

// IsSet reports whether the alias is configured.
func (a Alias) IsSet() bool { return a.DNSName != "" || a.HostedZoneID != "" }

// AWS holds what the AWS clients share: the region and, for emulators or
// VPC endpoints, a base URL per service. Credentials come from the
// standard AWS chain (environment, shared files, instance role).
type AWS struct {
	Region    string       `yaml:"region"`
	Endpoints AWSEndpoints `yaml:"endpoints"`
}

// AWSEndpoints override the services' base URLs.
type AWSEndpoints struct {
	Route53   string `yaml:"route53"`
	ECS       string `yaml:"ecs"`
	Events    string `yaml:"events"`
	Scheduler string `yaml:"scheduler"`
}

// App configures the actions that stop and restart the application's
// writers. Its shape is settled by the deploy issue.
type App struct {
	Stop   []Action `yaml:"stop"`
	Deploy []Action `yaml:"deploy"`
	Start  []Action `yaml:"start"`
}

// Action kinds.
const (
	ActionECSService        = "ecs-service"
	ActionEventBridgeRule   = "eventbridge-rule"
	ActionSchedulerSchedule = "scheduler-schedule"
	ActionExec              = "exec"
	ActionHTTP              = "http"
)

// Action is one step on the application: an ECS service, an EventBridge
// rule or schedule, a command or a webhook. Kind says which fields apply;
// which list it is in (stop, deploy, start) says what it does.
type Action struct {
	Kind string `yaml:"kind"`
	Name string `yaml:"name"`
	// Timeout bounds the action, waits included; 0: the kind's default.
	Timeout time.Duration `yaml:"timeout"`
	// ecs-service
	Cluster string `yaml:"cluster"`
	Service string `yaml:"service"`
	// Image and Container (deploy only): a new image for the container
	// (needed when the task has several containers).
	Image     string `yaml:"image"`
	Container string `yaml:"container"`
	// Environment: for ecs-service in deploy, variables set in the new
	// task definition revision; for exec, the command's environment.
	Environment []EnvVar `yaml:"environment"`
	// eventbridge-rule, scheduler-schedule
	Rule     string `yaml:"rule"`
	EventBus string `yaml:"event_bus"`
	Schedule string `yaml:"schedule"`
	Group    string `yaml:"group"`
	// exec
	Command []string `yaml:"command"`
	Undo    []string `yaml:"undo"`
	// http
	URL          string `yaml:"url"`
	Method       string `yaml:"method"`
	ExpectStatus int    `yaml:"expect_status"`
	UndoURL      string `yaml:"undo_url"`
}

// EnvVar is one environment variable given to the application.
type EnvVar struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// Checks configures verification and the health checks after the switch
// (bounded by cutover.health_timeout).
type Checks struct {
	Verify    Verify      `yaml:"verify"`
	HTTP      []HTTPCheck `yaml:"http"`
	SQLProbe  SQLProbe    `yaml:"sql_probe"`
	HTTPProbe HTTPProbe   `yaml:"http_probe"`
}

// HTTPProbe plays the site's users through the night: GET ReadURL and
// POST WriteURL in turn, Rate requests per second, from the night's first
// step to its last; the report says what they saw (requests, failures,
// the longest run of failures, the site-down time, the longest time
// without a successful write, latencies).
type HTTPProbe struct {
	ReadURL  string        `yaml:"read_url"`
	WriteURL string        `yaml:"write_url"`
	Rate     int           `yaml:"rate"`
	Timeout  time.Duration `yaml:"timeout"`
}

// Verify configures the chunked data comparison.
type Verify struct {
	ChunkRows int `yaml:"chunk_rows"`
	Workers   int `yaml:"workers"`
	// MaxRate caps rows read per second; 0 means no cap.
	MaxRate int `yaml:"max_rate"`
	// DiffLimit caps the row keys reported per differing chunk.
	DiffLimit int `yaml:"diff_limit"`
}

// HTTPCheck is one health endpoint.
type HTTPCheck struct {
	Name         string `yaml:"name"`
	URL          string `yaml:"url"`
	ExpectStatus int    `yaml:"expect_status"`
}

// SQLProbe writes through the application's database name after the swap.
//
// The probe connects as an application user (not a SUPER user, which
// read_only would not stop) to the name the application uses, resolved
// afresh each time through dns.resolver, and writes a row into the probe
// table of replication.checkpoint_schema on whichever server answers. The
// runbook also runs it throughout the night to measure how long writes
// were unavailable.
type SQLProbe struct {
	Host         string `yaml:"host"`
	Port         int    `yaml:"port"`
	User         string `yaml:"user"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`

	// Password is resolved by Load from PasswordEnv or PasswordFile.
	Password secret.Value `yaml:"password" resolved:"true"`
}

// Cutover configures the switchover night.
type Cutover struct {
	// MaxLag is the largest replication lag at which the night may start.
	MaxLag time.Duration `yaml:"max_lag"`
	// FenceGrace is how long clients may finish after read_only is set and
	// before their connections are killed.
	FenceGrace time.Duration `yaml:"fence_grace"`
	// CatchUpTimeout bounds the wait for the replicator to reach the fence.
	CatchUpTimeout time.Duration `yaml:"catch_up_timeout"`
	// Verify is full or fast: the final verification at the fenced position.
	Verify string `yaml:"verify"`
	// ReverseReplication starts replication from target back to source
	// after the switch, so that a rollback loses nothing.
	ReverseReplication bool `yaml:"reverse_replication"`
	// DNSSwap places the dns-swap step: DNSSwapAfterDeploy (the reference
	// order: the app is redeployed with the new database host, then the
	// names move) or DNSSwapBeforeDeploy (clients follow a database name,
	// so writes resume at the swap; the point of no return comes earlier).
	DNSSwap string `yaml:"dns_swap"`
	// AppMode is the night's shape for the application: AppModeStopAll
	// (the reference night: every writer stops, web services included,
	// and comes back redeployed) or AppModeKeepServing (web services keep
	// serving, retrying what the fence refuses; only batch writers stop).
	AppMode string `yaml:"app_mode"`
	// HealthTimeout bounds the health checks after the switch.
	HealthTimeout time.Duration `yaml:"health_timeout"`
	// UndoTimeout bounds undoing the night after a failure.
	UndoTimeout time.Duration `yaml:"undo_timeout"`
	// AppUsers are the application's MySQL users ("name" or "name@host").
	// When set, a target is fenced by locking these accounts (Aurora gives
	// no SUPER to set read_only); otherwise by read_only.
	AppUsers []string `yaml:"app_users"`
	// LongQuery is the age at which a running statement or transaction on
	// the source makes preflight refuse: the fence would wait for it.
	LongQuery time.Duration `yaml:"long_query"`
	// LongTransactionRows is the number of rows a transaction open on the
	// source may have modified before preflight refuses: killed by the
	// fence, it rolls back row by row while every write waits.
	LongTransactionRows int64 `yaml:"long_transaction_rows"`
	// SuperUsers acknowledges the accounts ("name@host") that hold SUPER
	// (or CONNECTION_ADMIN on MySQL 8, READ_ONLY ADMIN on MariaDB) on the
	// source: they write through read_only, so only the global read lock
	// stops them, and after it is released only the write guard of
	// reverse replication sees them. Preflight refuses while an account
	// holds one of these privileges and is not listed here (switcharoo's
	// own source user excepted).
	SuperUsers []string `yaml:"super_users"`
}

// The application's shapes of the night.
const (
	AppModeStopAll     = "stop-all"
	AppModeKeepServing = "keep-serving"
)

// The places of the dns-swap step in the night.
const (
	DNSSwapAfterDeploy  = "after-deploy"
	DNSSwapBeforeDeploy = "before-deploy"
)

// Defaults returns the configuration that an empty file means.
func Defaults() Config {
	port := 3306
	endpoint := Endpoint{Port: port, TLS: TLS{Mode: TLSPreferred}, ConnectTimeout: 10 * time.Second}
	return Config{
		StateDir: "./.switcharoo",
		Source:   endpoint,
		Target:   endpoint,
		Replication: Replication{
			Workers:          4,
			CopyChunkRows:    10000,
			CheckpointSchema: "_switcharoo",
			DDL:              DDLApply,
			OnDivergence:     DivergenceStop,
			ApplyBatchRows:   5000,
			ApplyBatchDelay:  20 * time.Millisecond,
			Heartbeat:        time.Second,
			StallTimeout:     30 * time.Second,
			MaxBackoff:       30 * time.Second,
			ProgressInterval: 10 * time.Second,
		},
		DNS: DNS{
			CutoverTTL:         60,
			PropagationTimeout: 5 * time.Minute,
			RFC2136:            RFC2136{TSIGAlgorithm: "hmac-sha256"},
		},
		AWS: AWS{Region: "us-east-1"},
		Checks: Checks{
			SQLProbe:  SQLProbe{Port: 3306},
			Verify:    Verify{ChunkRows: 5000, Workers: 4, DiffLimit: 100},
			HTTPProbe: HTTPProbe{Rate: 20, Timeout: 30 * time.Second},
		},
		Cutover: Cutover{
			LongQuery:           time.Minute,
			LongTransactionRows: 100_000,
			MaxLag:              time.Second,
			FenceGrace:          2 * time.Second,
			CatchUpTimeout:      time.Minute,
			Verify:              "fast",
			DNSSwap:             DNSSwapAfterDeploy,
			AppMode:             AppModeStopAll,
			HealthTimeout:       2 * time.Minute,
			UndoTimeout:         5 * time.Minute,
		},
	}
}
