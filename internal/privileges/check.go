package privileges

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/rs/zerolog"
)

// Key names one user on one server.
type Key struct{ Side, User string }

// Key is the key of a need's user on its server.
func (n Need) Key() Key { return Key{n.Side.Name, n.User} }

// Gap is a need the user's grants do not satisfy.
type Gap struct {
	Need
	// Account is the account a GRANT names: 'user'@'host'.
	Account string
	// Undecided, when set, says why the grants could not tell (the need is
	// then a warning, not a refusal).
	Undecided string
	// Hint adds what else may help (a role granted but not active).
	Hint string
}

// String names the server, the user, the privilege, what needs it, and
// the fix.
func (g Gap) String() string {
	who := fmt.Sprintf("%s %s (%s), user %q", g.Side.Name, g.Side.Addr, g.Side.Flavor, g.User)
	if g.Impossible != "" {
		return fmt.Sprintf("%s: %s — needed by %s", who, g.Impossible, g.For)
	}
	var alts []string
	for _, a := range g.Any[1:] {
		alts = append(alts, a.Priv+" on "+a.On.String())
	}
	text := fmt.Sprintf("%s: lacks %s on %s", who, g.Any[0].Priv, g.Any[0].On)
	if len(alts) > 0 {
		text += " (or " + strings.Join(alts, ", or ") + ")"
	}
	text += " — needed by " + g.For + "; fix: " + grantStatement(g.Account, g.Any[0].On, []string{g.Any[0].Priv})
	if g.Undecided != "" {
		text += " (not certain: " + g.Undecided + ")"
	}
	if g.Hint != "" {
		text += "; " + g.Hint
	}
	return text
}

// Check compares needs with what each user holds. held has the grants of
// every user it can tell about; a need whose user is not in it is not
// checked. Gaps are definite; undecided ones (grants not readable whole)
// come apart, for a warning.
func Check(needs []Need, held map[Key]*Grants) (gaps, undecided []Gap) {
	for _, n := range merge(needs) {
		g, ok := held[n.Key()]
		if !ok {
			continue
		}
		if n.Impossible != "" {
			gaps = append(gaps, Gap{Need: n, Account: g.Account})
			continue
		}
		if slices.ContainsFunc(n.Any, g.Has) {
			continue
		}
		gap := Gap{Need: n, Account: g.Account, Undecided: g.Unknown}
		if g.inactiveRoles {
			gap.Hint = "roles are granted to the user but none is active in its sessions: make them default roles (SET DEFAULT ROLE) or grant the privilege directly"
		}
		if gap.Undecided != "" {
			undecided = append(undecided, gap)
		} else {
			gaps = append(gaps, gap)
		}
	}
	return gaps, undecided
}

// merge joins the needs of one user on one server for the same grants,
// whatever the feature: one line names them all.
func merge(needs []Need) []Need {
	var out []Need
	index := map[string]int{}
	for _, n := range needs {
		key := fmt.Sprint(n.Key(), n.Any, n.Impossible)
		if i, ok := index[key]; ok {
			if !strings.Contains(out[i].For, n.For) {
				out[i].For += "; " + n.For
			}
			continue
		}
		index[key] = len(out)
		out = append(out, n)
	}
	return out
}

// Statements writes the GRANT statements that give every need, per
// server and user, each privilege with the features that need it as a
// comment; needs no grant can give are comments. account names each
// user's account ('user'@'host').
func Statements(needs []Need, account func(Key) string) string {
	var b strings.Builder
	type block struct {
		side    Side
		user    string
		objects []Object
		privs   map[Object][]string
		why     map[string]string // "priv on object" → features
		notes   []string
	}
	var blocks []*block
	find := func(n Need) *block {
		for _, bl := range blocks {
			if bl.side.Name == n.Side.Name && bl.user == n.User {
				return bl
			}
		}
		bl := &block{side: n.Side, user: n.User, privs: map[Object][]string{}, why: map[string]string{}}
		blocks = append(blocks, bl)
		return bl
	}
	for _, n := range merge(needs) {
		bl := find(n)
		if n.Impossible != "" {
			bl.notes = append(bl.notes, n.Impossible+" (needed by "+n.For+")")
			continue
		}
		g := n.Any[0]
		if !slices.Contains(bl.objects, g.On) {
			bl.objects = append(bl.objects, g.On)
		}
		if !slices.Contains(bl.privs[g.On], g.Priv) {
			bl.privs[g.On] = append(bl.privs[g.On], g.Priv)
		}
		key := g.Priv + " on " + g.On.String()
		if w := bl.why[key]; w == "" {
			bl.why[key] = n.For
		} else if !strings.Contains(w, n.For) {
			bl.why[key] = w + "; " + n.For
		}
	}
	for i, bl := range blocks {
		if i > 0 {
			b.WriteString("\n")
		}
		acct := account(Key{bl.side.Name, bl.user})
		fmt.Fprintf(&b, "-- %s %s (%s), user %s\n", bl.side.Name, bl.side.Addr, bl.side.Flavor, acct)
		for _, note := range bl.notes {
			fmt.Fprintf(&b, "-- NOT POSSIBLE: %s\n", note)
		}
		for _, o := range bl.objects {
			for _, p := range bl.privs[o] {
				fmt.Fprintf(&b, "--   %s: %s\n", p, bl.why[p+" on "+o.String()])
			}
			b.WriteString(grantStatement(acct, o, bl.privs[o]) + "\n")
		}
	}
	return b.String()
}

func grantStatement(account string, on Object, privs []string) string {
	return "GRANT " + strings.Join(privs, ", ") + " ON " + routine(on) + on.String() + " TO " + account + ";"
}

// routine marks mysql.rds_kill, a procedure, as one: GRANT EXECUTE ON
// PROCEDURE.
func routine(on Object) string {
	if on.DB == "mysql" && on.Table == "rds_kill" {
		return "PROCEDURE "
	}
	return ""
}

// DefaultAccount is the account a GRANT names for a user whose server
// could not say: 'user'@'%'.
func DefaultAccount(user string) string { return quoteString(user) + "@'%'" }

// Session is one user's connection to one server.
type Session struct {
	Key    Key
	DB     *sql.DB
	Flavor Flavor
}

// Audit reads every session's grants and checks needs against them:
// every definite gap goes to add (a refusal), every undecided one, and a
// session whose grants cannot be read (its needs then unchecked), to log
// as a warning.
func Audit(ctx context.Context, needs []Need, add func(string, ...any), log zerolog.Logger, sessions ...Session) {
	held := map[Key]*Grants{}
	for _, s := range sessions {
		g, err := Read(ctx, s.DB, s.Flavor)
		if err != nil {
			log.Warn().Err(err).Str("server", s.Key.Side).Str("user", s.Key.User).Msg("cannot read the user's grants; its privileges are not checked")
			continue
		}
		held[s.Key] = g
	}
	gaps, undecided := Check(needs, held)
	for _, g := range gaps {
		add("%s", g)
	}
	for _, g := range undecided {
		log.Warn().Msg("privilege not certain: " + g.String())
	}
}
