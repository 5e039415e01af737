package join

import (
	"context"
	"fmt"
	"reflect"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// RBAC cannot tell Secret types apart: the broker may create Secrets in its namespace (ignition,
// volume keys), so without more it could create a kubernetes.io/service-account-token Secret for
// its own ServiceAccount and get a token that never expires (found by the probe). A
// ValidatingAdmissionPolicy bound to the broker's user name refuses that Secret type.

// policyName names the broker's admission policy and its binding (a DNS subdomain, unlike the
// ClusterRole's name).
func (o Options) policyName() string { return "ironfed-broker." + o.Namespace + "." + o.Name }

func (o Options) userName() string { return "system:serviceaccount:" + o.Namespace + ":" + o.Name }

// NoTokenSecretMessage is what the apiserver answers the broker that tries it.
const NoTokenSecretMessage = "a broker may not create ServiceAccount token Secrets (type kubernetes.io/service-account-token); its token comes from join"

func (o Options) policySpec() admissionv1.ValidatingAdmissionPolicySpec {
	return admissionv1.ValidatingAdmissionPolicySpec{
		FailurePolicy: ptr.To(admissionv1.Fail),
		MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
			RuleWithOperations: admissionv1.RuleWithOperations{
				Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"secrets"}},
			},
		}}},
		MatchConditions: []admissionv1.MatchCondition{{
			Name:       "broker",
			Expression: fmt.Sprintf("request.userInfo.username == %q", o.userName()),
		}},
		Validations: []admissionv1.Validation{{
			Expression: "!has(object.type) || object.type != 'kubernetes.io/service-account-token'",
			Message:    NoTokenSecretMessage,
			Reason:     ptr.To(metav1.StatusReasonForbidden),
		}},
	}
}

// Policy returns the admission policy and its binding as Join installs them for o; charts that
// render them (charts/ironfed-control-plane, joins) are checked against it (test/charts).
func Policy(o Options) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding, error) {
	if err := o.validate(); err != nil {
		return nil, nil, err
	}
	name := o.policyName()
	return &admissionv1.ValidatingAdmissionPolicy{ObjectMeta: o.meta("", name), Spec: o.policySpec()},
		&admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: o.meta("", name), Spec: o.policyBindingSpec()}, nil
}

func (o Options) policyBindingSpec() admissionv1.ValidatingAdmissionPolicyBindingSpec {
	return admissionv1.ValidatingAdmissionPolicyBindingSpec{
		PolicyName:        o.policyName(),
		ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
	}
}

func ensurePolicy(ctx context.Context, cs kubernetes.Interface, o Options) error {
	c := cs.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	name, spec := o.policyName(), o.policySpec()
	return ensure(o, "ValidatingAdmissionPolicy", name,
		&admissionv1.ValidatingAdmissionPolicy{ObjectMeta: o.meta("", name), Spec: spec},
		func(w *admissionv1.ValidatingAdmissionPolicy) error {
			_, err := c.Create(ctx, w, metav1.CreateOptions{})
			return err
		},
		func() (*admissionv1.ValidatingAdmissionPolicy, error) { return c.Get(ctx, name, metav1.GetOptions{}) },
		func(cur *admissionv1.ValidatingAdmissionPolicy) bool {
			// Compare what we set; the apiserver defaults the rest.
			want := spec
			want.MatchConstraints.NamespaceSelector, want.MatchConstraints.ObjectSelector = cur.Spec.MatchConstraints.NamespaceSelector, cur.Spec.MatchConstraints.ObjectSelector
			want.MatchConstraints.MatchPolicy = cur.Spec.MatchConstraints.MatchPolicy
			want.MatchConstraints.ResourceRules[0].Scope = cur.Spec.MatchConstraints.ResourceRules[0].Scope
			changed := !reflect.DeepEqual(cur.Spec, want)
			cur.Spec = spec
			return changed
		},
		func(cur *admissionv1.ValidatingAdmissionPolicy) error {
			_, err := c.Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
}

func ensurePolicyBinding(ctx context.Context, cs kubernetes.Interface, o Options) error {
	c := cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	name, spec := o.policyName(), o.policyBindingSpec()
	return ensure(o, "ValidatingAdmissionPolicyBinding", name,
		&admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: o.meta("", name), Spec: spec},
		func(w *admissionv1.ValidatingAdmissionPolicyBinding) error {
			_, err := c.Create(ctx, w, metav1.CreateOptions{})
			return err
		},
		func() (*admissionv1.ValidatingAdmissionPolicyBinding, error) {
			return c.Get(ctx, name, metav1.GetOptions{})
		},
		func(cur *admissionv1.ValidatingAdmissionPolicyBinding) bool {
			changed := cur.Spec.PolicyName != spec.PolicyName || !reflect.DeepEqual(cur.Spec.ValidationActions, spec.ValidationActions)
			cur.Spec.PolicyName, cur.Spec.ValidationActions = spec.PolicyName, spec.ValidationActions
			return changed
		},
		func(cur *admissionv1.ValidatingAdmissionPolicyBinding) error {
			_, err := c.Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
}
