// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

// Finalizers (upstream's names) the volume and bucket poollets keep on the objects bound to their
// pool until the runtime confirmed their deletion.
const (
	VolumePoolletFinalizer = "volumepoollet.ironcore.dev/volume"
	BucketPoolletFinalizer = "bucketpoollet.ironcore.dev/bucket"
	// VolumeSnapshotPoolletFinalizer is kept on a VolumeSnapshot by the volumepoollet that took it.
	VolumeSnapshotPoolletFinalizer = "volumepoollet.ironcore.dev/volume-snapshot"
)

// VolumeSnapshotPoolLabel names the VolumePool whose volumepoollet took a VolumeSnapshot (an
// ironfed addition): the snapshot lives in that pool's provider, so only a Volume on that pool can
// restore it, and it stays that poollet's to delete after its source Volume is gone.
const VolumeSnapshotPoolLabel = "volumepoollet.ironfed.dev/volume-pool"

// Field paths usable as field selectors (the CRDs declare them as
// selectableFields) and as cache index names.
const (
	// VolumeSnapshotVolumeRefNameField is the name of the Volume a VolumeSnapshot copies.
	VolumeSnapshotVolumeRefNameField = "spec.volumeRef.name"
	// VolumeSnapshotRefNameField is the name of the VolumeSnapshot a Volume is restored from.
	VolumeSnapshotRefNameField = "spec.dataSource.volumeSnapshotRef.name"
	// VolumePoolRefNameField is the name of the VolumePool a Volume is bound to.
	VolumePoolRefNameField = "spec.volumePoolRef.name"
	// VolumeClassRefNameField is the name of a Volume's VolumeClass.
	VolumeClassRefNameField = "spec.volumeClassRef.name"
	// BucketPoolRefNameField is the name of the BucketPool a Bucket is bound to.
	BucketPoolRefNameField = "spec.bucketPoolRef.name"
	// BucketClassRefNameField is the name of a Bucket's BucketClass.
	BucketClassRefNameField = "spec.bucketClassRef.name"

	// VolumeVolumePoolRefNameField is VolumePoolRefNameField under IronCore's name.
	VolumeVolumePoolRefNameField = VolumePoolRefNameField
	// VolumeVolumeClassRefNameField is VolumeClassRefNameField under IronCore's name.
	VolumeVolumeClassRefNameField = VolumeClassRefNameField
	// BucketBucketPoolRefNameField is BucketPoolRefNameField under IronCore's name.
	BucketBucketPoolRefNameField = BucketPoolRefNameField
	// BucketBucketClassRefNameField is BucketClassRefNameField under IronCore's name.
	BucketBucketClassRefNameField = BucketClassRefNameField
)
