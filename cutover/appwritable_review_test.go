package cutover

import (
	"context"
	"testing"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
	"github.com/switcharoo/switcharoo/internal/secret"
)

// A locked account's live session still writes; switcharoo's account sees
// other users' sessions only with PROCESS. Without it, appWritable must
// not answer "closed".
func TestAppWritableWithoutProcess(t *testing.T) {
	ctx := context.Background()
	m := sandboxtest.Start(t)
	root := sandboxtest.DB(t, m, "")
	sandboxtest.Exec(t, root,
		"CREATE USER app@'%' IDENTIFIED BY 'pw'", "GRANT ALL ON app.* TO app@'%'",
		"CREATE USER sw@'%' IDENTIFIED BY 'pw'", "GRANT SELECT ON mysql.* TO sw@'%'")
	app := sandboxtest.DBAs(t, m, "app", "pw")
	conn, err := app.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sandboxtest.Exec(t, root, "ALTER USER app@'%' ACCOUNT LOCK")
	e := sandboxtest.Endpoint(m)
	e.User, e.Password = "sw", secret.New("pw")
	s := &server{name: "target", db: sandboxtest.Open(t, e), appUsers: []string{"app@%"}}
	w, err := s.appWritable(ctx)
	if err == nil && !w {
		t.Errorf("a locked account with a live session, seen by a user without PROCESS: appWritable = false, nil; want true or an error")
	}
}
