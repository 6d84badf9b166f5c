// Package mysqlconn opens connections to the configured MySQL servers and
// gives every switcharoo session the same well-defined settings.
//
// A Config endpoint becomes a go-sql-driver connector (no DSN string with a
// password in it is ever built) and a *tls.Config for the binlog client.
// Sessions that read or write row data use UTC and a permissive sql_mode
// (DataSession), so that TIMESTAMPs cross unchanged and zero dates are
// accepted on a strict target such as Aurora MySQL 8.0; the replicator's
// target sessions narrow the sql_mode to a strict one of their own.
package mysqlconn

import (
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/switcharoo/switcharoo/internal/config"
)

// DataSession are the session settings of every connection that reads or
// writes row data: TIMESTAMPs in UTC on both sides; no strict mode, so zero
// dates and 5.6 data are accepted by an 8.0 target (binlog's target
// sessions set their own, strict, sql_mode); NO_AUTO_VALUE_ON_ZERO
// so an id of 0 stays 0; and results in each column's own character set,
// unconverted, so bytes cross exactly as stored.
func DataSession() map[string]string {
	return map[string]string{
		"time_zone":             "'+00:00'",
		"sql_mode":              "'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'",
		"character_set_results": "NULL",
	}
}

// Option adjusts the driver configuration of a pool.
type Option func(*mysql.Config)

// FoundRows makes an UPDATE report the rows it matched rather than those
// it changed (CLIENT_FOUND_ROWS), in its result and in ROW_COUNT(): the
// applier checks that every row it updates exists.
func FoundRows(c *mysql.Config) { c.ClientFoundRows = true }

// Open returns a pool for the endpoint, reaching database ("" for none),
// with the session variables in params set on every connection. It does
// not connect; call Ping or use it.
func Open(e config.Endpoint, database string, params map[string]string, opts ...Option) (*sql.DB, error) {
	cfg, err := DriverConfig(e, database)
	if err != nil {
		return nil, err
	}
	cfg.Params = params
	for _, o := range opts {
		o(cfg)
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Addr(e), err)
	}
	db := sql.OpenDB(connector)
	db.SetConnMaxIdleTime(time.Minute)
	return db, nil
}

// DriverConfig is the go-sql-driver configuration of an endpoint.
func DriverConfig(e config.Endpoint, database string) (*mysql.Config, error) {
	cfg := mysql.NewConfig()
	cfg.User = e.User
	cfg.Passwd = e.Password.Reveal()
	cfg.Net = "tcp"
	cfg.Addr = Addr(e)
	cfg.DBName = database
	cfg.Timeout = e.ConnectTimeout
	cfg.ReadTimeout = 0 // long statements (copy chunks, checksums) are bounded by contexts
	cfg.MultiStatements = true
	// The server's max_allowed_packet, read at connect, bounds what is
	// sent, not the driver's default of 64 MiB: Aurora takes up to 1 GB.
	cfg.MaxAllowedPacket = 0
	cfg.AllowNativePasswords = true
	cfg.AllowCleartextPasswords = e.TLS.Mode != config.TLSDisabled && e.TLS.Mode != config.TLSPreferred
	cfg.Loc = time.UTC
	cfg.Logger = &mysql.NopLogger{} // every error is returned, and reported, by its caller
	tlsCfg, err := TLSConfig(e)
	if err != nil {
		return nil, err
	}
	switch {
	case tlsCfg != nil:
		cfg.TLS = tlsCfg
	case e.TLS.Mode == config.TLSPreferred:
		cfg.TLSConfig = "preferred"
	}
	return cfg, nil
}

// Addr is host:port of an endpoint.
func Addr(e config.Endpoint) string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// TLSConfig builds the TLS settings the endpoint's tls.mode asks for; nil
// for disabled and preferred (the driver's opportunistic TLS).
func TLSConfig(e config.Endpoint) (*tls.Config, error) {
	mode := e.TLS.Mode
	if mode == config.TLSDisabled || mode == config.TLSPreferred || mode == "" {
		return nil, nil
	}
	c := &tls.Config{ServerName: e.Host, MinVersion: tls.VersionTLS12}
	if e.TLS.CA != "" {
		pem, err := os.ReadFile(e.TLS.CA)
		if err != nil {
			return nil, fmt.Errorf("tls.ca: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca: %s holds no PEM certificate", e.TLS.CA)
		}
	}
	if e.TLS.Cert != "" {
		pair, err := tls.LoadX509KeyPair(e.TLS.Cert, e.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("tls.cert: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	switch mode {
	case config.TLSRequired:
		c.InsecureSkipVerify = true
	case config.TLSVerifyCA:
		// Check the chain, not the name: Go has no switch for that, so
		// verify by hand.
		c.InsecureSkipVerify = true
		c.VerifyPeerCertificate = verifyChain(c.RootCAs)
	}
	return c, nil
}

func verifyChain(roots *x509.CertPool) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("server sent no certificate")
		}
		certs := make([]*x509.Certificate, len(raw))
		for i, b := range raw {
			c, err := x509.ParseCertificate(b)
			if err != nil {
				return err
			}
			certs[i] = c
		}
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
		return err
	}
}
