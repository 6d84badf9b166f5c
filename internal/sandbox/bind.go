package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/miekg/dns"
)

// BIND is a throwaway BIND 9 (named) serving one zone on a loopback port,
// accepting DNS UPDATEs signed with its TSIG key. It reads only the
// configuration this package writes, opens no control channel, and is
// stopped by its PID.
type BIND struct {
	Port int
	Dir  string
	Zone string // fully qualified
	// KeyName, Algorithm and Secret (base64) are the TSIG key updates
	// must be signed with.
	KeyName   string
	Algorithm string
	Secret    string

	cmd    *exec.Cmd
	exited chan struct{}
}

// BINDOptions shape a server. Records are zone file lines after the SOA
// and NS records, relative to the zone, e.g. "db 3600 IN CNAME old.example.test.".
type BINDOptions struct {
	Zone    string
	Records []string
}

// Addr is the server's host:port.
func (b *BIND) Addr() string { return net.JoinHostPort(Host, strconv.Itoa(b.Port)) }

var bindConf = template.Must(template.New("named.conf").Parse(`options {
	directory "{{.Dir}}";
	pid-file none;
	session-keyfile none;
	managed-keys-directory "{{.Dir}}";
	listen-on port {{.Port}} { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	allow-query { any; };
	dnssec-validation no;
	notify no;
};
controls { };
key "{{.KeyName}}" {
	algorithm {{.Algorithm}};
	secret "{{.Secret}}";
};
zone "{{.Zone}}" {
	type primary;
	file "{{.Dir}}/zone.db";
	update-policy { grant {{.KeyName}} zonesub ANY; };
};
`))

// StartBIND writes the zone and configuration and starts named on a free
// loopback port, returning once it answers for the zone.
func StartBIND(ctx context.Context, opts BINDOptions) (*BIND, error) {
	named, err := lookPath("BIND 9; run `go tool task deps` (Debian/Ubuntu: apt-get install bind9)", "named")
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "switcharoo-bind-")
	if err != nil {
		return nil, fmt.Errorf("bind sandbox: %w", err)
	}
	b := &BIND{Dir: dir, Zone: dns.Fqdn(opts.Zone), KeyName: "switcharoo", Algorithm: "hmac-sha256",
		Secret: base64.StdEncoding.EncodeToString(secret)}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := b.start(ctx, named, opts); err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

func (b *BIND) start(ctx context.Context, named string, opts BINDOptions) error {
	zone := fmt.Sprintf("$ORIGIN %s\n$TTL 3600\n@ IN SOA ns1.%s hostmaster.%s 1 3600 600 86400 60\n@ IN NS ns1.%s\nns1 IN A 127.0.0.1\n%s\n",
		b.Zone, b.Zone, b.Zone, b.Zone, strings.Join(opts.Records, "\n"))
	if err := os.WriteFile(filepath.Join(b.Dir, "zone.db"), []byte(zone), 0o600); err != nil {
		return fmt.Errorf("bind sandbox: %w", err)
	}
	for attempt := 1; ; attempt++ {
		port, err := freePort(Host)
		if err != nil {
			return err
		}
		b.Port = port
		var conf bytes.Buffer
		if err := bindConf.Execute(&conf, b); err != nil {
			return err
		}
		confFile := filepath.Join(b.Dir, "named.conf")
		if err := os.WriteFile(confFile, conf.Bytes(), 0o600); err != nil {
			return fmt.Errorf("bind sandbox: %w", err)
		}
		err = b.launch(ctx, named, confFile)
		if err == nil || attempt == 5 || !strings.Contains(err.Error(), "address in use") {
			return err
		}
	}
}

func (b *BIND) launch(ctx context.Context, named, confFile string) error {
	logFile, err := os.Create(filepath.Join(b.Dir, "named.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(named, "-f", "-g", "-n", "1", "-c", confFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("bind sandbox: start named: %w", err)
	}
	b.cmd, b.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(b.exited) }()
	c := &dns.Client{Net: "tcp", Timeout: time.Second}
	m := new(dns.Msg)
	m.SetQuestion(b.Zone, dns.TypeSOA)
	for {
		if r, _, err := c.ExchangeContext(ctx, m, b.Addr()); err == nil && r.Rcode == dns.RcodeSuccess {
			return nil
		}
		select {
		case <-b.exited:
			b.cmd = nil
			return fmt.Errorf("bind sandbox: named exited during start:\n%s", b.LogTail(15))
		case <-ctx.Done():
			return fmt.Errorf("bind sandbox: named did not answer: %w\n%s", ctx.Err(), b.LogTail(15))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// LogTail returns the last n lines of named's log.
func (b *BIND) LogTail(n int) string {
	out, err := os.ReadFile(filepath.Join(b.Dir, "named.log"))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return tail(out, n)
}

// Stop ends named and removes its directory. Safe to call more than once.
func (b *BIND) Stop() {
	if b.cmd != nil {
		terminate(b.cmd.Process, b.exited, 10*time.Second)
		b.cmd = nil
	}
	if b.Dir != "" {
		_ = os.RemoveAll(b.Dir)
		b.Dir = ""
	}
}
