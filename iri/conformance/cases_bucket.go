package conformance

import (
	"context"

	bucketv1alpha1 "github.com/ironfed/ironfed/iri/apis/bucket/v1alpha1"
)

func bucketCases() []Case {
	return []Case{
		{Bucket, "classes", caseBucketClasses},
		{Bucket, "access", caseBucketAccess},
	}
}

func caseBucketClasses(ctx context.Context, c *C) {
	resp, err := c.Bucket().ListBucketClasses(ctx, &bucketv1alpha1.ListBucketClassesRequest{})
	if err != nil {
		c.Fatalf("ListBucketClasses: %v", err)
	}
	if len(resp.GetBucketClasses()) == 0 {
		c.Fatalf("ListBucketClasses reports no bucket class")
	}
	for _, bc := range resp.GetBucketClasses() {
		if bc.GetName() == "" {
			c.Errorf("a bucket class has no name")
		}
		if caps := bc.GetCapabilities(); caps == nil || caps.GetTps() < 0 || caps.GetIops() < 0 || caps.GetTps()+caps.GetIops() == 0 {
			c.Errorf("bucket class %q has capabilities %v; want tps and iops set", bc.GetName(), caps)
		}
	}
}

func caseBucketAccess(ctx context.Context, c *C) {
	api := bucketAPI()
	id := mustCreate(ctx, c, api, c.Labels()).GetMetadata().GetId()
	b := waitReady(ctx, c, api, id)
	acc := b.GetStatus().GetAccess()
	if acc.GetEndpoint() == "" {
		c.Errorf("available bucket has no endpoint")
	}
	if len(acc.GetSecretData()) == 0 {
		c.Errorf("available bucket has no access credentials")
	}
	for k, v := range acc.GetSecretData() {
		if len(v) == 0 {
			c.Errorf("bucket access secret %s is empty", k)
		}
	}
}
