package deploy

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/switcharoo/switcharoo/internal/awsenv"
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
	cfg, err := awsenv.Load(ctx, c, 8)
	if err != nil {
		return nil, err
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
