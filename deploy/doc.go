// Package deploy stops and restarts the application's writers: ECS
// services, EventBridge rules and Scheduler schedules, commands and
// webhooks, each an Action that can plan, apply, verify and undo.
//
// It imports no other top-level package. The actions arrive with the
// deploy issue; this file reserves the package.
package deploy
