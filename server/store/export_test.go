package store

import bolt "go.etcd.io/bbolt"

// BoltKeys lists the keys in b's file, expired ones that no sweep has deleted yet included.
func BoltKeys(b *Bolt) ([]string, error) {
	var keys []string
	err := b.f.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(boltBucket).ForEach(func(k, _ []byte) error { keys = append(keys, string(k)); return nil })
	})
	return keys, err
}
