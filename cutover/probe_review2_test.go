package cutover

import (
	"testing"
	"time"
)

// A write path that flaps between the old master and failure for longer
// than maxProbeRuns runs (a name with a dead address beside the live one,
// a flaky VPN) must not cost the report the switch: the first write on
// the new primary, and, on the rollback, the first back on the old one,
// are still recorded.
func TestProbeFlappingKeepsTheSwitch(t *testing.T) {
	const old, next = 1, 2
	p := &probe{interval: time.Millisecond}
	at := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	tick := func() time.Time { at = at.Add(50 * time.Millisecond); return at }
	for i := 0; i < maxProbeRuns+10; i++ {
		id := uint32(old)
		if i%2 == 1 {
			id = 0
		}
		p.note(id, tick())
	}
	lastOld := at
	p.note(0, tick())
	firstNew := tick()
	p.note(next, firstNew)
	p.note(next, tick())
	u := p.unavailability(old, next)
	if u.FirstNew.IsZero() || !u.FirstNew.Equal(firstNew) {
		t.Fatalf("the switch after a flapping write path: %+v, want the first write on the new primary at %s", u, firstNew)
	}
	if u.LastOld.After(lastOld) {
		t.Fatalf("last write on the old primary %s, after the last one made (%s)", u.LastOld, lastOld)
	}
	back := tick()
	p.note(old, back)
	if u := p.unavailability(next, old); !u.FirstNew.Equal(back) {
		t.Fatalf("the rollback's switch after a flapping write path: %+v, want the first write back on the old primary at %s", u, back)
	}
}
