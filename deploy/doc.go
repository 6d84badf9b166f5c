// Package deploy stops and restarts the application's writers: ECS
// services, EventBridge rules and Scheduler schedules, commands and
// webhooks, each an Action that can Plan (read only), Apply, Verify and
// Undo.
//
// An action's effect depends on the list (Phase) it is configured in:
//
//	              stop                         deploy                        start
//	ecs-service   scale to 0, wait until no    new revision with the         back to the count
//	              task runs (count recorded)   environment/image, recorded   stop recorded
//	                                           count; wait for its rollout
//	rule          disable (state recorded),    —                             enable if stop found
//	              wait for its running jobs                                  it enabled
//	schedule      save whole, disable, wait    —                             restore as saved
//	exec, http    run the command / call the URL; undo: the undo command / undo_url
//
// A redeploy counts as done only when its own deployment reports
// rolloutState COMPLETED and the service's primary deployment runs the new
// revision, and no task of an earlier deployment runs any more: ECS's
// services-stable waiter also succeeds after a circuit-breaker rollback,
// which is a failure here, and a service's running count matches while the
// tasks a rolling update replaces still serve. Undoing a redeploy waits
// the same way for the previous revision: a task of the night's revision
// still serving would reach the database the night's way. Before acting, an
// action records what its undo needs in state_dir/app.json (durably, and
// only the first time, so a re-run after a crash never records
// switcharoo's own change as the original).
//
// Runner.Run plans every action of a phase first (nothing changes if a
// resource is missing: *RefusedError, exit 2), then applies and verifies
// them in order; when one fails, those applied are undone in reverse
// (*FailedError: exit 3, or 4 if an undo failed too).
//
// It imports no other top-level package of switcharoo.
package deploy
