package sandbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"text/template"
	"time"

	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/traffic"
)

// Env is a whole switchover world on one machine: the old master (with
// sample data and live writers), the new "Aurora", the Route 53 emulator
// serving the database's name, and the ECS/EventBridge emulator running a
// sample web service and a cron job that write through that name. Its
// configuration is written to ConfigPath.
type Env struct {
	Dir        string
	ConfigPath string
	Config     *config.Config
	Source     *MariaDB
	Target     *MariaDB
	Route53    *Route53
	AWS        *AWS
	// AckFile holds the id of every write the sample application saw
	// acknowledged: none may be missing at the end.
	AckFile string
	// LB is the web service's load balancer, and Users what the users
	// sending requests through it at UsersRate saw.
	LB    *LoadBalancer
	Users *traffic.Record

	stopUsers context.CancelFunc
	usersDone chan struct{}
}

// UsersRate is how many requests per second the sandbox's own users send
// to the web service, reads and writes in turn, whether a night runs or
// not (the night's checks.http_probe adds its own).
const UsersRate = 20

// EnvOptions shape an Env.
type EnvOptions struct {
	// Dir holds the configuration, state, logs and tasks' output.
	Dir string
	// Binary is the switcharoo executable the emulated tasks run
	// ("switcharoo sandbox writer").
	Binary string
	// Rows is the number of sample customers (orders are twice as many).
	Rows int
	// Writers is the web service's task count.
	Writers int
	// StopAll shapes the night as the seed's: the web service stops with
	// the cron job and comes back redeployed, then the names move. By
	// default the night keeps serving: only the cron job stops, the names
	// move, then the web service rolls (cutover.app_mode).
	StopAll bool
}

// The sandbox's addresses: one per server, so that DNS tells them apart.
const (
	sourceAddr = "127.0.0.2"
	targetAddr = "127.0.0.3"
)

// StartEnv starts everything; Stop stops it.
func StartEnv(ctx context.Context, o EnvOptions) (_ *Env, err error) {
	if o.Rows == 0 {
		o.Rows = 10000
	}
	if o.Writers == 0 {
		o.Writers = 2
	}
	e := &Env{Dir: o.Dir, ConfigPath: filepath.Join(o.Dir, "switcharoo.yaml"), AckFile: filepath.Join(o.Dir, "acked-writes")}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	port, err := commonPort(sourceAddr, targetAddr)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	var srcErr, dstErr error
	wg.Go(func() {
		e.Source, srcErr = StartMariaDB(ctx, MariaDBOptions{ServerID: 1, Addr: sourceAddr, Port: port})
	})
	wg.Go(func() {
		e.Target, dstErr = StartMariaDB(ctx, MariaDBOptions{ServerID: 2, Addr: targetAddr, Port: port})
	})
	wg.Wait()
	if err := errors.Join(srcErr, dstErr); err != nil {
		return nil, err
	}
	password := randomHex(12)
	pwFile := filepath.Join(o.Dir, "app.pw")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := e.seed(ctx, o.Rows, password); err != nil {
		return nil, err
	}

	if e.Route53, err = StartRoute53(); err != nil {
		return nil, err
	}
	e.Route53.InsyncAfter = 200 * time.Millisecond
	zoneID := e.Route53.AddZone("example.test", R53RecordSet{Name: "db.example.test", Type: "A", TTL: 1, Values: []string{sourceAddr}})

	tasks := filepath.Join(o.Dir, "tasks")
	if err := os.MkdirAll(tasks, 0o700); err != nil {
		return nil, err
	}
	if e.AWS, err = StartAWS(tasks); err != nil {
		return nil, err
	}
	if e.LB, err = StartLoadBalancer(filepath.Join(o.Dir, "targets")); err != nil {
		return nil, err
	}
	taskEnv := func(host string) map[string]string {
		return map[string]string{"DB_HOST": host, "DB_PORT": strconv.Itoa(port), "DB_USER": "app", "DB_PASSWORD": password,
			"DNS_SERVER": e.Route53.DNSAddr, "ACK_FILE": e.AckFile, "TARGETS_DIR": e.LB.Dir}
	}
	web := e.AWS.RegisterTaskDefinition("web", ContainerDef{Name: "web", Image: "sample/web:1",
		Command: []string{o.Binary, "sandbox", "web"}, Environment: taskEnv("db.example.test")})
	cron := e.AWS.RegisterTaskDefinition("cron", ContainerDef{Name: "cron", Image: "sample/cron:1",
		Command: []string{o.Binary, "sandbox", "writer", "--name", "cron", "--rows", "5"}, Environment: taskEnv("db.example.test")})
	e.AWS.CreateService("sandbox", "web", web, o.Writers, true)
	e.AWS.PutRule("cron", "rate(3 seconds)", "sandbox", cron, true)

	e.startUsers()
	if err := e.writeConfig(port, zoneID, pwFile, o.StopAll); err != nil {
		return nil, err
	}
	if e.Config, err = config.Load(e.ConfigPath); err != nil {
		return nil, err
	}
	return e, nil
}

// seed creates the sample schema and data on the source, the application
// user on both servers, and closes the target to the application until
// the switch (read_only: the replicator's root passes it).
func (e *Env) seed(ctx context.Context, rows int, password string) error {
	src, err := sql.Open("mysql", e.Source.DSN(""))
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := sql.Open("mysql", e.Target.DSN(""))
	if err != nil {
		return err
	}
	defer dst.Close()
	users := []string{
		"CREATE USER 'app'@'%' IDENTIFIED BY '" + password + "'",
		"GRANT SELECT, INSERT, UPDATE, DELETE ON app.* TO 'app'@'%'",
		"GRANT SELECT, INSERT ON `\\_switcharoo`.* TO 'app'@'%'", // _ is a wildcard in a GRANT's database
	}
	for _, stmt := range append([]string{
		"CREATE DATABASE app",
		`CREATE TABLE app.customers (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(100) NOT NULL, email VARCHAR(200),
			balance DECIMAL(12,2) NOT NULL DEFAULT 0, created DATETIME NOT NULL) DEFAULT CHARSET=utf8mb4`,
		`CREATE TABLE app.orders (id BIGINT PRIMARY KEY AUTO_INCREMENT, customer_id INT NOT NULL, total DECIMAL(12,2) NOT NULL,
			status ENUM('new','paid','shipped') NOT NULL, note TEXT, KEY (customer_id))`,
		`CREATE TABLE app.writes (id BIGINT PRIMARY KEY AUTO_INCREMENT, writer VARCHAR(32) NOT NULL, server_id INT UNSIGNED NOT NULL,
			at DATETIME(6) NOT NULL)`,
		fmt.Sprintf("INSERT INTO app.customers (name, email, balance, created) SELECT CONCAT('Customer ', seq), CONCAT('c', seq, '@example.test'), seq * 0.37, '2020-01-01' + INTERVAL seq MINUTE FROM mysql.seq_1_to_%d", rows),
		fmt.Sprintf("INSERT INTO app.orders (customer_id, total, status, note) SELECT 1 + seq %% %d, seq * 1.25, ELT(1 + seq %% 3, 'new', 'paid', 'shipped'), IF(seq %% 5 = 0, NULL, REPEAT('n', seq %% 40)) FROM mysql.seq_1_to_%d", rows, 2*rows),
	}, users...) {
		if _, err := src.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sandbox source: %w", err)
		}
	}
	for _, stmt := range append(users, "SET GLOBAL read_only = ON") {
		if _, err := dst.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sandbox target: %w", err)
		}
	}
	return nil
}

var envConfig = template.Must(template.New("switcharoo.yaml").Parse(`# The sandbox's configuration, written by switcharoo sandbox.
state_dir: {{printf "%q" (print .Dir "/state")}}
source: {host: {{.Source}}, port: {{.Port}}, user: root, tls: {mode: disabled}}
target: {host: {{.Target}}, port: {{.Port}}, user: root, tls: {mode: disabled}}
replication:
  server_id: 100
  databases: [app]
  heartbeat: 200ms
  stall_timeout: 5s
  max_backoff: 1s
  progress_interval: 5s
dns:
  provider: route53
  zone: example.test
  cutover_ttl: 1
  propagation_timeout: 30s
  nameservers: ['{{.DNS}}']
  resolver: '{{.DNS}}'
  route53: {hosted_zone_id: {{.ZoneID}}}
  records:
    - {name: db, type: A, target: {{.Target}}}
aws:
  region: us-east-1
  endpoints: {route53: '{{.Route53}}', ecs: '{{.AWS}}', events: '{{.AWS}}', scheduler: '{{.AWS}}'}
app:
  stop:
    - {kind: eventbridge-rule, name: cron, rule: cron}
{{- if .StopAll}}
    - {kind: ecs-service, name: web, cluster: sandbox, service: web, timeout: 1m}
{{- end}}
  deploy:
    - {kind: ecs-service, name: web, cluster: sandbox, service: web, timeout: 1m, environment: [{name: DB_HOST, value: {{.Target}}}]}
  start:
    - {kind: eventbridge-rule, name: cron, rule: cron}
checks:
  sql_probe: {host: db.example.test, port: {{.Port}}, user: app, password_file: {{printf "%q" .PasswordFile}}}
  # The site's users, as the night sees them: through the load balancer.
  http_probe: {read_url: '{{.LB}}/read', write_url: '{{.LB}}/write', rate: 50}
cutover:
{{- if .StopAll}}
  app_mode: stop-all
{{- else}}
  # The web service keeps serving: it retries what the fence refuses, the
  # names move, then it rolls onto the new host.
  app_mode: keep-serving
  dns_swap: before-deploy
{{- end}}
  max_lag: 5s
  fence_grace: 500ms
  catch_up_timeout: 30s
  verify: fast
  reverse_replication: true
  health_timeout: 30s
  undo_timeout: 2m
  # MariaDB's root accounts hold SUPER; the sandbox acknowledges them all,
  # whichever account the night runs as.
  super_users: ['root@localhost', 'root@127.0.0.1', 'root@::1']
`))

func (e *Env) writeConfig(port int, zoneID, pwFile string, stopAll bool) error {
	f, err := os.Create(e.ConfigPath)
	if err != nil {
		return err
	}
	defer f.Close()
	return envConfig.Execute(f, map[string]any{
		"Dir": e.Dir, "Source": sourceAddr, "Target": targetAddr, "Port": port, "DNS": e.Route53.DNSAddr,
		"ZoneID": zoneID, "Route53": e.Route53.URL, "AWS": e.AWS.URL, "PasswordFile": pwFile, "StopAll": stopAll, "LB": e.LB.URL,
	})
}

// startUsers sends the users' requests to the load balancer until Stop.
func (e *Env) startUsers() {
	ctx, cancel := context.WithCancel(context.Background())
	e.Users, e.stopUsers, e.usersDone = &traffic.Record{}, cancel, make(chan struct{})
	g := &traffic.Generator{ReadURL: e.LB.URL + "/read", WriteURL: e.LB.URL + "/write", Rate: UsersRate, Timeout: 30 * time.Second}
	go func() {
		defer close(e.usersDone)
		g.Run(ctx, e.Users)
	}()
}

// Stop stops the users, the emulators (and their tasks) and the servers.
func (e *Env) Stop() {
	if e.stopUsers != nil {
		e.stopUsers()
		<-e.usersDone
	}
	e.LB.Close()
	if e.AWS != nil {
		e.AWS.Close()
	}
	if e.Route53 != nil {
		e.Route53.Close()
	}
	for _, m := range []*MariaDB{e.Source, e.Target} {
		if m != nil {
			m.Stop()
		}
	}
}

// commonPort finds a port free on both addresses.
func commonPort(a, b string) (int, error) {
	for range 20 {
		p, err := freePort(a)
		if err != nil {
			return 0, err
		}
		l, err := net.Listen("tcp", net.JoinHostPort(b, strconv.Itoa(p)))
		if err == nil {
			l.Close()
			return p, nil
		}
	}
	return 0, errors.New("sandbox: no port free on both 127.0.0.2 and 127.0.0.3")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
