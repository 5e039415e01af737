package machinebroker

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type metav1ObjectMeta = metav1.ObjectMeta

func errUnimplemented(msg string) error { return status.Error(codes.Unimplemented, msg) }
