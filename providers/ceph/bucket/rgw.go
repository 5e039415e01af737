package bucket

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/ceph/go-ceph/rgw/admin"
)

// Backend is the RGW the runtime manages: admin ops on users and buckets,
// and bucket creation through S3 with a user's own keys.
type Backend interface {
	// CreateUser creates uid with generated S3 keys and room for maxBuckets.
	CreateUser(ctx context.Context, uid, displayName string, maxBuckets int) (accessKey, secretKey string, err error)
	// SetDisplayName changes a user's display name (where records live).
	SetDisplayName(ctx context.Context, uid, displayName string) error
	// SetQuota sets the user quota; 0 means unlimited.
	SetQuota(ctx context.Context, uid string, maxSizeBytes, maxObjects int64) error
	// CreateBucket creates name with the user's keys.
	CreateBucket(ctx context.Context, accessKey, secretKey, name string) error
	// RemoveBucket removes the bucket and every object; missing is done.
	RemoveBucket(ctx context.Context, name string) error
	// RemoveUser removes the user and its data; missing is done.
	RemoveUser(ctx context.Context, uid string) error
	// ListUsers returns every user id; User one user.
	ListUsers(ctx context.Context) ([]string, error)
	User(ctx context.Context, uid string) (User, error)
}

// User is what the runtime reads back of an RGW user.
type User struct {
	ID, DisplayName      string
	AccessKey, SecretKey string
}

// RGW implements Backend with go-ceph's rgw/admin (pure Go, admin ops API)
// and aws-sdk-go-v2 (path-style S3).
type RGW struct {
	endpoint string
	api      *admin.API
	http     *http.Client
}

var _ Backend = (*RGW)(nil)

// NewRGW returns a backend for the RGW at endpoint ("http://host:port"),
// administered with a user holding caps users=*;buckets=*.
func NewRGW(endpoint, adminAccessKey, adminSecretKey string) (*RGW, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	api, err := admin.New(endpoint, adminAccessKey, adminSecretKey, hc)
	if err != nil {
		return nil, fmt.Errorf("rgw admin client: %w", err)
	}
	return &RGW{endpoint: endpoint, api: api, http: hc}, nil
}

func (r *RGW) CreateUser(ctx context.Context, uid, displayName string, maxBuckets int) (string, string, error) {
	gen := true
	u, err := r.api.CreateUser(ctx, admin.User{ID: uid, DisplayName: displayName, MaxBuckets: &maxBuckets, GenerateKey: &gen})
	if err != nil {
		return "", "", err
	}
	for _, k := range u.Keys {
		if k.User == uid && k.AccessKey != "" {
			return k.AccessKey, k.SecretKey, nil
		}
	}
	return "", "", fmt.Errorf("RGW created user %s without S3 keys", uid)
}

func (r *RGW) SetDisplayName(ctx context.Context, uid, displayName string) error {
	_, err := r.api.ModifyUser(ctx, admin.User{ID: uid, DisplayName: displayName})
	return err
}

func (r *RGW) SetQuota(ctx context.Context, uid string, maxSizeBytes, maxObjects int64) error {
	if maxSizeBytes == 0 && maxObjects == 0 {
		return nil
	}
	enabled := true
	q := admin.QuotaSpec{UID: uid, QuotaType: "user", Enabled: &enabled}
	size, objects := int64(-1), int64(-1)
	if maxSizeBytes > 0 {
		size = maxSizeBytes
	}
	if maxObjects > 0 {
		objects = maxObjects
	}
	q.MaxSize, q.MaxObjects = &size, &objects
	return r.api.SetUserQuota(ctx, q)
}

// S3Client returns a path-style S3 client for the RGW with a user's keys.
// Checksums are sent only when required: Pacific's RGW does not know the
// SDK's default trailing checksums.
func S3Client(endpoint, accessKey, secretKey string, hc *http.Client) *s3.Client {
	return s3.New(s3.Options{
		Region:                     "default",
		BaseEndpoint:               aws.String(endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		HTTPClient:                 hc,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

func (r *RGW) CreateBucket(ctx context.Context, accessKey, secretKey, name string) error {
	_, err := S3Client(r.endpoint, accessKey, secretKey, r.http).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	return err
}

func (r *RGW) RemoveBucket(ctx context.Context, name string) error {
	purge := true
	err := r.api.RemoveBucket(ctx, admin.Bucket{Bucket: name, PurgeObject: &purge})
	if errors.Is(err, admin.ErrNoSuchBucket) {
		return nil
	}
	return err
}

func (r *RGW) RemoveUser(ctx context.Context, uid string) error {
	purge := 1
	err := r.api.RemoveUser(ctx, admin.User{ID: uid, PurgeData: &purge})
	if errors.Is(err, admin.ErrNoSuchUser) {
		return nil
	}
	return err
}

func (r *RGW) ListUsers(ctx context.Context) ([]string, error) {
	ids, err := r.api.GetUsers(ctx)
	if err != nil || ids == nil {
		return nil, err
	}
	return *ids, nil
}

func (r *RGW) User(ctx context.Context, uid string) (User, error) {
	u, err := r.api.GetUser(ctx, admin.User{ID: uid})
	if err != nil {
		return User{}, err
	}
	out := User{ID: u.ID, DisplayName: u.DisplayName}
	for _, k := range u.Keys {
		if k.User == uid {
			out.AccessKey, out.SecretKey = k.AccessKey, k.SecretKey
			break
		}
	}
	return out, nil
}
