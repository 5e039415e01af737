package machinebroker

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ironfed/ironfed/broker/common"
	commonv1alpha1 "github.com/ironfed/ironfed/federation/api/common/v1alpha1"
	computev1alpha1 "github.com/ironfed/ironfed/federation/api/compute/v1alpha1"
	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
)

// The broker's Exec: Unimplemented without an exec server; NotFound,
// FailedPrecondition (not Running downstream), then a single-use URL whose
// redemption names what is missing downstream. The proxying itself runs in
// federation/console's chain test.
func TestExecFast(t *testing.T) {
	ctx := context.Background()
	b, _ := fakeBroker(t, nil, class("small"))
	if _, err := b.Exec(ctx, &machinev1alpha1.ExecRequest{MachineId: "x"}); status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "--exec-bind-address") {
		t.Fatalf("Exec without an exec server: %v", err)
	}

	b, c := fakeBroker(t, func(o *common.Options) { o.Console.BindAddress = "127.0.0.1:0"; o.DownstreamName = "leaf" }, class("small"), machinePool("p", true, nil, nil))
	cp, err := newConsoleProxy(b.store)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.lis.Close()
	b.console = cp
	resp, err := b.CreateMachine(ctx, &machinev1alpha1.CreateMachineRequest{Machine: &machinev1alpha1.Machine{Metadata: &metav1alpha1.ObjectMetadata{}, Spec: &machinev1alpha1.MachineSpec{Class: "small"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Machine.Metadata.Id
	if _, err := b.Exec(ctx, &machinev1alpha1.ExecRequest{MachineId: strings.Repeat("0", len(id))}); status.Code(err) != codes.NotFound {
		t.Errorf("Exec of an unknown machine: %v, want NotFound", err)
	}
	if _, err := b.Exec(ctx, &machinev1alpha1.ExecRequest{MachineId: id}); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "not Running in downstream cluster leaf") {
		t.Errorf("Exec of a pending machine: %v, want FailedPrecondition naming the downstream", err)
	}
	m := &computev1alpha1.Machine{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: id}, m); err != nil {
		t.Fatal(err)
	}
	m.Spec.MachinePoolRef = &commonv1alpha1.LocalObjectReference{Name: "p"}
	if err := c.Update(ctx, m); err != nil {
		t.Fatal(err)
	}
	m.Status.State = computev1alpha1.MachineStateRunning
	if err := c.Status().Update(ctx, m); err != nil {
		t.Fatal(err)
	}
	var url string
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		r, err := b.Exec(ctx, &machinev1alpha1.ExecRequest{MachineId: id}) // the store reads from its cache
		url = r.GetUrl()
		return err == nil, nil
	}); err != nil {
		t.Fatalf("Exec of a running machine never answered a URL")
	}
	if !strings.HasPrefix(url, "http://"+cp.lis.Addr().String()+"/exec/") {
		t.Fatalf("Exec URL %q, want one of the broker's own exec server", url)
	}
	redeem := func() (int, string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, url, nil)
		req.SetPathValue("token", url[strings.LastIndex(url, "/")+1:])
		cp.serve(rec, req)
		var st metav1.Status
		_ = json.Unmarshal(rec.Body.Bytes(), &st)
		return rec.Code, st.Message
	}
	if code, msg := redeem(); code != http.StatusServiceUnavailable || !strings.Contains(msg, "downstream cluster leaf: machine pool p advertises no console endpoint") {
		t.Errorf("redeem with no downstream endpoint: %d %q", code, msg)
	}
	if code, msg := redeem(); code != http.StatusGone || !strings.Contains(msg, "already used") {
		t.Errorf("second redeem: %d %q", code, msg)
	}
}
