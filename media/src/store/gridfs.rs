//! MongoDB GridFS backend, bucket `media`.
//!
//! Writes go through the driver's upload stream, so files are ordinary
//! GridFS files any tool can read. Reads go to the chunks collection
//! directly: that gives byte ranges by fetching only the chunks that cover
//! them, and a small cursor batch keeps memory flat however large the file.

use async_trait::async_trait;
use bytes::Bytes;
use futures::{AsyncWriteExt, TryStreamExt};
use mongodb::bson::{doc, oid::ObjectId, spec::BinarySubtype, Binary, Bson, Document};
use mongodb::gridfs::{GridFsBucket, GridFsUploadStream};
use mongodb::options::{GridFsBucketOptions, IndexOptions};
use mongodb::{Collection, Database, IndexModel};
use serde::Deserialize;

use super::{
    BackendKind, ByteRange, ByteStream, ObjectWriter, ResourceKind, StorageKey, Store, StoreError,
};

pub const BUCKET: &str = "media";

/// Chunks fetched per cursor round trip: 4 x 255 KiB bounds what one
/// download holds in memory.
const CHUNK_BATCH: u32 = 4;

#[derive(Clone)]
pub struct GridFsStore {
    db: Database,
    bucket: GridFsBucket,
    files: Collection<Document>,
    chunks: Collection<Chunk>,
}

#[derive(Debug, Deserialize)]
struct Chunk {
    n: i64,
    data: Binary,
}

#[derive(Debug, Deserialize)]
struct FileDoc {
    length: i64,
    #[serde(rename = "chunkSize")]
    chunk_size: i64,
}

impl GridFsStore {
    pub fn new(db: Database) -> Self {
        let bucket = db.gridfs_bucket(
            GridFsBucketOptions::builder()
                .bucket_name(BUCKET.to_owned())
                .build(),
        );
        Self {
            files: db.collection(&format!("{BUCKET}.files")),
            chunks: db.collection(&format!("{BUCKET}.chunks")),
            bucket,
            db,
        }
    }

    /// Creates the indexes GridFS relies on. The driver only creates them when
    /// the first file is at least one chunk long; without the chunks index a
    /// download scans the whole collection.
    ///
    /// # Errors
    /// When the database refuses.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        self.files
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "filename": 1, "uploadDate": 1 })
                    .build(),
            )
            .await
            .map_err(StoreError::backend)?;
        self.chunks
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "files_id": 1, "n": 1 })
                    .options(IndexOptions::builder().unique(true).build())
                    .build(),
            )
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }

    fn object_id(key: &StorageKey) -> Result<ObjectId, StoreError> {
        ObjectId::parse_str(key.as_str()).map_err(|_| StoreError::NotFound(key.clone()))
    }

    /// Counts the chunks stored under `key`, finished or not. For tests and
    /// status reports.
    ///
    /// # Errors
    /// When the database refuses.
    pub async fn chunk_count(&self, key: &StorageKey) -> Result<u64, StoreError> {
        let id = Self::object_id(key)?;
        self.chunks
            .count_documents(doc! { "files_id": id })
            .await
            .map_err(StoreError::backend)
    }
}

struct GridFsWriter {
    stream: GridFsUploadStream,
}

/// A failed GridFS write. Every object has a fresh ObjectId no one else
/// writes, so a duplicate key means our own chunk or file document
/// committed and the driver's retry, after the database went away and came
/// back, met it: like the database being away, that is worth retrying
/// (503), not an internal error.
fn write_failed(err: std::io::Error) -> StoreError {
    let driver = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<mongodb::error::Error>());
    match driver {
        Some(e)
            if avenue_shared::db::is_duplicate_key(e) || avenue_shared::db::is_unavailable(e) =>
        {
            StoreError::Unavailable(format!("the database went away during a write: {e}"))
        }
        _ => StoreError::backend(err),
    }
}

#[async_trait]
impl ObjectWriter for GridFsWriter {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.stream.write_all(chunk).await.map_err(write_failed)
    }

    async fn finish(mut self: Box<Self>) -> Result<(), StoreError> {
        self.stream.close().await.map_err(write_failed)
    }

    async fn abort(mut self: Box<Self>) -> Result<(), StoreError> {
        self.stream.abort().await.map_err(StoreError::backend)
    }
}

#[async_trait]
impl Store for GridFsStore {
    fn backend(&self) -> BackendKind {
        BackendKind::GridFs
    }

    fn new_key(&self, _kind: ResourceKind) -> StorageKey {
        StorageKey::new(ObjectId::new().to_hex())
    }

    async fn open_writer(&self, key: &StorageKey) -> Result<Box<dyn ObjectWriter>, StoreError> {
        let id = Self::object_id(key)?;
        let stream = self
            .bucket
            .open_upload_stream(key.as_str())
            .id(Bson::ObjectId(id))
            .await
            .map_err(StoreError::backend)?;
        Ok(Box::new(GridFsWriter { stream }))
    }

    async fn read(
        &self,
        key: &StorageKey,
        range: Option<ByteRange>,
    ) -> Result<ByteStream, StoreError> {
        let id = Self::object_id(key)?;
        let file: FileDoc = self
            .db
            .collection::<FileDoc>(&format!("{BUCKET}.files"))
            .find_one(doc! { "_id": id })
            .await
            .map_err(StoreError::backend)?
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        let corrupt = |reason: String| StoreError::Corrupt {
            key: key.clone(),
            reason,
        };
        if file.chunk_size <= 0 || file.length < 0 {
            return Err(corrupt("bad length or chunk size".into()));
        }
        let (length, chunk_size) = (file.length as u64, file.chunk_size as u64);
        if length == 0 {
            return Ok(Box::pin(futures::stream::empty()));
        }
        let range = range.unwrap_or(ByteRange {
            start: 0,
            end: length - 1,
        });
        if range.end >= length || range.start > range.end {
            return Err(corrupt(format!("range {range:?} outside {length} bytes")));
        }
        let first = range.start / chunk_size;
        let last = range.end / chunk_size;
        let cursor = self
            .chunks
            .find(doc! { "files_id": id, "n": { "$gte": first as i64, "$lte": last as i64 } })
            .sort(doc! { "n": 1 })
            .batch_size(CHUNK_BATCH)
            .await
            .map_err(StoreError::backend)?;

        let state = ChunkReader {
            cursor,
            key: key.clone(),
            next: first,
            last,
            chunk_size,
            length,
            range,
        };
        let stream = futures::stream::try_unfold(state, |mut reader| async move {
            match reader
                .cursor
                .try_next()
                .await
                .map_err(StoreError::backend)?
            {
                Some(chunk) => {
                    let bytes = reader.slice(&chunk)?;
                    reader.next += 1;
                    Ok(Some((bytes, reader)))
                }
                // A missing trailing chunk would otherwise end the body silently short.
                None if reader.next == reader.last + 1 => Ok(None),
                None => Err(StoreError::Corrupt {
                    key: reader.key.clone(),
                    reason: format!("chunk {} is missing", reader.next),
                }),
            }
        });
        Ok(Box::pin(stream))
    }

    async fn delete(&self, key: &StorageKey) -> Result<(), StoreError> {
        let Ok(id) = Self::object_id(key) else {
            return Ok(());
        };
        // Files document first: once it is gone nothing can read the object,
        // and leftover chunks are only garbage the caller's staging entry covers.
        self.files
            .delete_one(doc! { "_id": id })
            .await
            .map_err(StoreError::backend)?;
        self.chunks
            .delete_many(doc! { "files_id": id })
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn health_check(&self) -> Result<(), StoreError> {
        self.db
            .run_command(doc! { "ping": 1 })
            .await
            .map(|_| ())
            .map_err(StoreError::backend)
    }

    fn public_url(&self, _key: &StorageKey, _transformation: &str, _ext: &str) -> Option<url::Url> {
        None
    }

    /// Files and chunk groups (a files document may be missing after an
    /// interrupted upload) whose ObjectId was made before `cutoff`.
    async fn keys_before(
        &self,
        cutoff: time::OffsetDateTime,
    ) -> Result<Vec<StorageKey>, StoreError> {
        let cutoff = ObjectId::from_parts(
            u32::try_from(cutoff.unix_timestamp().max(0)).unwrap_or(u32::MAX),
            [0; 5],
            [0; 3],
        );
        let mut ids: std::collections::BTreeSet<ObjectId> = std::collections::BTreeSet::new();
        for value in self
            .files
            .distinct("_id", doc! { "_id": { "$lt": cutoff } })
            .await
            .map_err(StoreError::backend)?
            .into_iter()
            .chain(
                self.chunks
                    .distinct("files_id", doc! { "files_id": { "$lt": cutoff } })
                    .await
                    .map_err(StoreError::backend)?,
            )
        {
            if let Some(id) = value.as_object_id() {
                ids.insert(id);
            }
        }
        Ok(ids
            .into_iter()
            .map(|id| StorageKey::new(id.to_hex()))
            .collect())
    }
}

/// Walks the chunks covering one byte range, in order.
struct ChunkReader {
    cursor: mongodb::Cursor<Chunk>,
    key: StorageKey,
    next: u64,
    last: u64,
    chunk_size: u64,
    length: u64,
    range: ByteRange,
}

impl ChunkReader {
    /// The part of `chunk` that falls inside the range, after checking the
    /// chunk is the one expected and has the size GridFS promises.
    fn slice(&self, chunk: &Chunk) -> Result<Bytes, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            key: self.key.clone(),
            reason,
        };
        if chunk.n < 0 || chunk.n as u64 != self.next {
            return Err(corrupt(format!(
                "expected chunk {}, found {}",
                self.next, chunk.n
            )));
        }
        if chunk.data.subtype != BinarySubtype::Generic {
            return Err(corrupt("chunk data is not generic binary".into()));
        }
        let chunk_start = self.next * self.chunk_size;
        let want_len = self.chunk_size.min(self.length - chunk_start);
        if chunk.data.bytes.len() as u64 != want_len {
            return Err(corrupt(format!(
                "chunk {} holds {} bytes, expected {want_len}",
                self.next,
                chunk.data.bytes.len()
            )));
        }
        let from = self.range.start.saturating_sub(chunk_start) as usize;
        let to = (self.range.end.min(chunk_start + want_len - 1) - chunk_start + 1) as usize;
        Ok(Bytes::copy_from_slice(&chunk.data.bytes[from..to]))
    }
}
