// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Package console is the console contract between the hops of a federation:
// how an error before the upgrade is answered, where a machinepoollet serves
// the consoles of its pool's Machines, and how a client finds and reaches it
// (docs/console.md).
package console

import (
	"encoding/json"
	"errors"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ironfed/ironfed/iri/exectoken"
)

// WriteError answers a console request that cannot be upgraded with a
// metav1.Status, as kubelet and kube-apiserver do: client-go's SPDY and
// WebSocket executors decode it and show its message.
func WriteError(w http.ResponseWriter, code int, msg string) {
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: int32(code), Message: msg,
		Reason: reasonFor(code),
	}
	b, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func reasonFor(code int) metav1.StatusReason {
	switch code {
	case http.StatusNotFound:
		return metav1.StatusReasonNotFound
	case http.StatusGone:
		return metav1.StatusReasonGone
	case http.StatusConflict:
		return metav1.StatusReasonConflict
	case http.StatusUnauthorized:
		return metav1.StatusReasonUnauthorized
	case http.StatusForbidden:
		return metav1.StatusReasonForbidden
	case http.StatusBadRequest:
		return metav1.StatusReasonBadRequest
	case http.StatusServiceUnavailable:
		return metav1.StatusReasonServiceUnavailable
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return metav1.StatusReasonTimeout
	}
	return metav1.StatusReasonInternalError
}

// Redeem redeems the request's {token} path value; when it cannot, it answers the request (a
// Status naming why: unknown, used or expired), counts the session of hop as invalid_token and
// returns false.
func Redeem(w http.ResponseWriter, r *http.Request, tokens *exectoken.Tokens, hop string) (string, bool) {
	target, err := tokens.Redeem(r.PathValue("token"))
	if err == nil {
		return target, true
	}
	CountSession(hop, ResultInvalidToken)
	var re *exectoken.RedeemError
	if errors.As(err, &re) {
		WriteError(w, re.Status, re.Msg)
	} else {
		WriteError(w, http.StatusInternalServerError, err.Error())
	}
	return "", false
}
