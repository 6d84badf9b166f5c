package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/switcharoo/switcharoo/internal/config"
)

// clients are the AWS API clients the actions use, with the base endpoint
// overrides of aws.endpoints.
type clients struct {
	ecs       *ecs.Client
	events    *eventbridge.Client
	scheduler *scheduler.Client
}

func newClients(ctx context.Context, c config.AWS) (*clients, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(c.Region),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 8
				o.MaxBackoff = 20 * time.Second
			})
		}))
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	endpoint := func(url string) *string {
		if url == "" {
			return nil
		}
		return aws.String(url)
	}
	return &clients{
		ecs:       ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = endpoint(c.Endpoints.ECS) }),
		events:    eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = endpoint(c.Endpoints.Events) }),
		scheduler: scheduler.NewFromConfig(cfg, func(o *scheduler.Options) { o.BaseEndpoint = endpoint(c.Endpoints.Scheduler) }),
	}, nil
}
