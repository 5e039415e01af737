package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
)

type machine = *machinev1alpha1.Machine

func machineRow(m machine) []string {
	md := m.GetMetadata()
	return []string{md.GetId(), m.GetSpec().GetClass(), state(m.GetStatus().GetState().String(), "MACHINE_", md),
		labelSummary(md.GetLabels()), age(md)}
}

func parseMachineCreate(data []byte) (proto.Message, error) {
	req, obj := &machinev1alpha1.CreateMachineRequest{}, &machinev1alpha1.Machine{}
	isReq, err := decodeCreate(data, "machine", req, obj)
	if err != nil {
		return nil, err
	}
	if !isReq {
		req.Machine = obj
	}
	return req, checkNewObject(req.GetMachine(), remote.KindMachine)
}

func connectMachines(ctx context.Context, conn *grpc.ClientConn, opts ...remote.Option) (runner, error) {
	rt, err := remote.NewMachineRuntime(ctx, conn, opts...)
	if err != nil {
		return nil, err
	}
	return &kindOps[machine]{
		kind:   remote.KindMachine,
		header: []string{"ID", "CLASS", "STATE", "LABELS", "AGE"},
		row:    machineRow,
		list: func(ctx context.Context, id string, labels map[string]string) (proto.Message, []machine, error) {
			resp, err := rt.ListMachines(ctx, &machinev1alpha1.ListMachinesRequest{
				Filter: &machinev1alpha1.MachineFilter{Id: id, LabelSelector: labels}})
			return resp, resp.GetMachines(), withPrefix("ListMachines", err)
		},
		create: func(ctx context.Context, req proto.Message) (machine, error) {
			resp, err := rt.CreateMachine(ctx, req.(*machinev1alpha1.CreateMachineRequest))
			return resp.GetMachine(), withPrefix("CreateMachine", err)
		},
		delete: func(ctx context.Context, id string) error {
			_, err := rt.DeleteMachine(ctx, &machinev1alpha1.DeleteMachineRequest{MachineId: id})
			return withPrefix("DeleteMachine", err)
		},
		status: func(ctx context.Context) (proto.Message, table, error) {
			resp, err := rt.Status(ctx, &machinev1alpha1.StatusRequest{})
			return resp, rows(resp.GetMachineClassStatus(), []string{"CLASS", "RESOURCES", "QUANTITY"},
				func(s *machinev1alpha1.MachineClassStatus) []string {
					return []string{s.GetMachineClass().GetName(), mapSummary(s.GetMachineClass().GetCapabilities().GetResources()),
						fmt.Sprint(s.GetQuantity())}
				}), withPrefix("Status", err)
		},
		watcher: func(labels map[string]string, opts remote.WatcherOptions) (*remote.Watcher[machine], error) {
			return remote.NewMachineWatcher(rt, &machinev1alpha1.MachineFilter{LabelSelector: labels}, opts)
		},
	}, nil
}
