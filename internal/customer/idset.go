package customer

import (
	"hash/maphash"
	"slices"
)

// IDSet holds identifiers (CCIDs, partition keys) as 64-bit hashes, sorted
// once all are added: 8 bytes an identifier, 8 MB a million, where a map
// of the strings takes some ten times that. Two identifiers whose hashes
// collide read as one; with ten million in a set, the chance that any two
// of them do is about one in 10^5, and that one of ten million others
// reads as a member about one in 10^5 too. Callers that must be exact about
// a member compare the identifiers themselves.
type IDSet struct {
	seed   maphash.Seed
	hashes []uint64
	sorted bool
}

// NewIDSet returns an empty set.
func NewIDSet() *IDSet { return &IDSet{seed: maphash.MakeSeed()} }

// Hash is the hash the set keeps of id.
func (s *IDSet) Hash(id string) uint64 { return maphash.String(s.seed, id) }

// Add adds id; Has may not be called until Seal.
func (s *IDSet) Add(id string) {
	s.hashes = append(s.hashes, s.Hash(id))
	s.sorted = false
}

// Seal sorts the set after the last Add and returns the hashes that were
// added more than once.
func (s *IDSet) Seal() map[uint64]bool {
	slices.Sort(s.hashes)
	s.sorted = true
	shared := map[uint64]bool{}
	for i := 1; i < len(s.hashes); i++ {
		if s.hashes[i] == s.hashes[i-1] {
			shared[s.hashes[i]] = true
		}
	}
	return shared
}

// Has reports whether id (or one whose hash is the same) was added.
func (s *IDSet) Has(id string) bool {
	if !s.sorted {
		panic("customer: IDSet.Has before Seal")
	}
	_, ok := slices.BinarySearch(s.hashes, s.Hash(id))
	return ok
}

// Len is how many identifiers were added.
func (s *IDSet) Len() int { return len(s.hashes) }
