package cutover

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
	"github.com/switcharoo/switcharoo/internal/privileges"
)

// checkPrivileges checks, before anything changes, that every user has
// every privilege the configured night needs on each server (the
// runbook's statements, forward and reverse replication, the write
// probe): a night must never find one missing after the fence.
func (rb *Runbook) checkPrivileges(ctx context.Context, add func(string, ...any)) {
	night, err := rb.liveNight(ctx)
	if err != nil {
		add("privileges: %v", err)
		return
	}
	sessions := []privileges.Session{
		{Key: privileges.Key{Side: "source", User: rb.cfg.Source.User}, DB: rb.source.db, Flavor: night.Source.Flavor},
		{Key: privileges.Key{Side: "target", User: rb.cfg.Target.User}, DB: rb.target.db, Flavor: night.Target.Flavor},
	}
	if p := rb.cfg.Checks.SQLProbe; p.User != "" {
		for _, s := range []struct {
			side privileges.Side
			e    config.Endpoint
		}{{night.Source, rb.cfg.Source}, {night.Target, rb.cfg.Target}} {
			db, err := probeSession(s.e, p)
			if err != nil {
				rb.log.Warn().Err(err).Str("server", s.side.Name).Msg("cannot open a session as checks.sql_probe.user; its privileges there are not checked")
				continue
			}
			defer db.Close()
			sessions = append(sessions, privileges.Session{Key: privileges.Key{Side: s.side.Name, User: p.User}, DB: db, Flavor: s.side.Flavor})
		}
	}
	privileges.Audit(ctx, night.Needs(), add, rb.log, sessions...)
}

// probeSession opens a pool as the write probe's user on e's server: its
// grants are read there, not through the application's name.
func probeSession(e config.Endpoint, p config.SQLProbe) (*sql.DB, error) {
	e.User, e.Password = p.User, p.Password
	db, err := mysqlconn.Open(e, "", nil)
	if err != nil {
		return nil, err
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// liveNight is the configured night between the live servers: their
// flavors, and the databases replication.databases names on them now.
func (rb *Runbook) liveNight(ctx context.Context) (privileges.Night, error) {
	src, err := rb.side(ctx, rb.source, rb.cfg.Source)
	if err != nil {
		return privileges.Night{}, err
	}
	dst, err := rb.side(ctx, rb.target, rb.cfg.Target)
	if err != nil {
		return privileges.Night{}, err
	}
	night := privileges.NightOf(rb.cfg, rb.reverseDB(), src, dst)
	f := catalog.NewFilter(rb.cfg.Replication)
	tables, _, err := catalog.ListTables(ctx, rb.source.db, f)
	if err != nil {
		return night, fmt.Errorf("source: %w", err)
	}
	night.SourceDBs, night.TargetDBs = privileges.Databases(tables, f)
	return night, nil
}

func (rb *Runbook) side(ctx context.Context, s *server, e config.Endpoint) (privileges.Side, error) {
	f, err := privileges.Detect(ctx, s.db)
	if err != nil {
		return privileges.Side{}, fmt.Errorf("%s: %w", s.name, err)
	}
	return privileges.Side{Name: s.name, Addr: mysqlconn.Addr(e), User: e.User, Flavor: f}, nil
}

// GrantsOptions are the flavors to assume for servers switcharoo cannot
// reach (privileges.ParseFlavor names), "" to require the live server.
type GrantsOptions struct {
	SourceFlavor, TargetFlavor string
}

// Grants writes the GRANT statements that give every configured user
// every privilege the configured night needs, per server: for the
// flavor of the live server, or the one opts names when it cannot be
// reached. The accounts are those the servers report for the configured
// users ('user'@'%' when unreachable). No secret is written.
func Grants(ctx context.Context, cfg *config.Config, opts GrantsOptions) (string, error) {
	accounts := map[privileges.Key]string{}
	side := func(name string, e config.Endpoint, flavor string) (privileges.Side, error) {
		s := privileges.Side{Name: name, Addr: mysqlconn.Addr(e), User: e.User}
		var err error
		if flavor != "" {
			s.Flavor, err = privileges.ParseFlavor(flavor)
			return s, err
		}
		db, err := mysqlconn.Open(e, "", nil)
		if err != nil {
			return s, fmt.Errorf("%s: %w", name, err)
		}
		defer db.Close()
		if s.Flavor, err = privileges.Detect(ctx, db); err != nil {
			return s, fmt.Errorf("%s: %w; give its flavor with --%s-flavor (%s)", name, err, name, privileges.FlavorNames)
		}
		if g, err := privileges.Read(ctx, db, s.Flavor); err == nil {
			accounts[privileges.Key{Side: name, User: e.User}] = g.Account
		}
		return s, nil
	}
	src, serr := side("source", cfg.Source, opts.SourceFlavor)
	dst, terr := side("target", cfg.Target, opts.TargetFlavor)
	if err := errors.Join(serr, terr); err != nil {
		return "", err
	}
	night := privileges.NightOf(cfg, reverseSchema(cfg), src, dst)
	return privileges.Statements(night.Needs(), func(k privileges.Key) string {
		if a, ok := accounts[k]; ok {
			return a
		}
		return privileges.DefaultAccount(k.User)
	}), nil
}
