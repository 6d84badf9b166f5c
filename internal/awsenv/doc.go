// Package awsenv loads the AWS SDK configuration that the Route 53 (dnsswap)
// and ECS / EventBridge / Scheduler (deploy) clients share: the region of
// aws.region, the SDK's standard credential chain (environment, ~/.aws,
// an instance or task role), and a standard retryer with backoff for
// throttling. It resolves the credentials once, up front, so that a
// machine without any gets one clear refusal (exit 2) before anything is
// attempted, instead of an SDK error in the middle of a step.
package awsenv
