package awsenv

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/exitcode"
)

// credentialTimeout bounds resolving the credentials (an instance role
// is fetched over the network).
const credentialTimeout = 15 * time.Second

// Load returns the SDK configuration for c, with a retryer making up to
// attempts tries per call, once credentials were found.
func Load(ctx context.Context, c config.AWS, attempts int) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(c.Region),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = 20 * time.Second
			})
		}))
	if err != nil {
		return aws.Config{}, exitcode.With(exitcode.Usage, fmt.Errorf("AWS configuration: %w", err))
	}
	rctx, cancel := context.WithTimeout(ctx, credentialTimeout)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(rctx); err != nil {
		return aws.Config{}, exitcode.With(exitcode.Usage, fmt.Errorf("no AWS credentials found: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "+
			"name a profile with AWS_PROFILE, or run where an instance or task role is attached"))
	}
	return cfg, nil
}
