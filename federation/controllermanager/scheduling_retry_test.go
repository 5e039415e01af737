package controllermanager_test

import (
	"context"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestRefusedBindIsRetried: a bind the apiserver refuses without changing the machine (an
// unavailable etcd in CI, an admission policy here) brings no watch event, so the scheduler must
// retry on its own. It did not: 14 machines stayed unbound after a leaf etcd restart. It reads
// global scheduler metrics, so it does not run in parallel.
func TestRefusedBindIsRetried(t *testing.T) {
	e := startEnv(t, nil)
	ctx := t.Context()
	e.createMachinePool(t, poolSpec{name: "only", ready: corev1.ConditionTrue, capacity: map[string]int64{"small": 5}})

	// Refuse every bind of machines labelled refuse-bind, until the binding is deleted.
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "refuse-binds"},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{"compute.ironcore.dev"}, APIVersions: []string{"*"}, Resources: []string{"machines"}},
				},
			}}},
			Validations: []admissionv1.Validation{{
				Expression: "!has(object.spec.machinePoolRef) || has(oldObject.spec.machinePoolRef)",
				Message:    "binds refused for this test",
			}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "refuse-binds"},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policy.Name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{ObjectSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"refuse-bind": "true"}}},
		},
	}
	for _, o := range []client.Object{policy, binding} {
		if err := e.client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	// The apiserver applies a policy once its informers saw it: wait until a probe's bind (a
	// dry run) is refused.
	probe := newMachine("probe", "large", nil)
	probe.Labels = map[string]string{"refuse-bind": "true"}
	if err := e.client.Create(ctx, probe); err != nil {
		t.Fatal(err)
	}
	bindPatch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"machinePoolRef":{"name":"only"}}}`))
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return e.client.Patch(ctx, probe.DeepCopy(), bindPatch, client.DryRunAll) != nil, nil
	}); err != nil {
		t.Fatal("the admission policy never refused a bind")
	}

	refusals := func() float64 {
		return counter(t, "ironfed_scheduler_schedule_attempts_total", map[string]string{"kind": "Machine", "result": "bind_error"})
	}
	before := refusals()
	m := newMachine("refused", "small", nil)
	m.Labels = map[string]string{"refuse-bind": "true"}
	if err := e.client.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return refusals() > before, nil
	}); err != nil {
		t.Fatal("the scheduler never tried to bind the machine")
	}
	// Lift the refusal without touching the machine: no watch event will come for it.
	if err := e.client.Delete(ctx, binding); err != nil {
		t.Fatal(err)
	}
	e.waitMachine(t, "refused", "bound to only once binds are accepted again", boundTo("only"))
}
