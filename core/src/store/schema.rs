// The tables of migrations/sqlite and migrations/postgres. Both backends use
// the same names and SQL types that map to the same Diesel types, so one
// `table!` set describes both; `store::tests::tables_match_migrations` loads
// every column on each backend to keep it that way.

diesel::table! {
    namespaces (id) {
        id -> BigInt,
        name -> Text,
        metadata -> Text,
        settings -> Text,
        revision -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    blobs (sha256) {
        sha256 -> Text,
        size -> BigInt,
        data -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    schemas (id) {
        id -> BigInt,
        namespace_id -> BigInt,
        name -> Text,
        current_version_id -> Nullable<BigInt>,
        staged_version_id -> Nullable<BigInt>,
        staged_forced -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    schema_versions (id) {
        id -> BigInt,
        schema_id -> BigInt,
        version -> Integer,
        fingerprint -> Text,
        descriptor_sha256 -> Text,
        created_by -> Text,
        metadata -> Text,
        created_at -> Timestamp,
        promoted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    schema_version_files (version_id, path) {
        version_id -> BigInt,
        path -> Text,
        source_sha256 -> Text,
    }
}

diesel::table! {
    schema_version_deps (version_id, file_path, import_path) {
        version_id -> BigInt,
        file_path -> Text,
        import_path -> Text,
        dep_version_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        namespace_id -> Nullable<BigInt>,
        namespace -> Text,
        kind -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    restore_checkpoints (namespace_id) {
        namespace_id -> BigInt,
        revision -> BigInt,
        format -> Integer,
        data -> Binary,
        written_at -> Timestamp,
    }
}

diesel::joinable!(schemas -> namespaces (namespace_id));
diesel::joinable!(restore_checkpoints -> namespaces (namespace_id));
diesel::joinable!(schema_versions -> schemas (schema_id));
diesel::joinable!(schema_version_files -> schema_versions (version_id));

diesel::allow_tables_to_appear_in_same_query!(
    namespaces,
    blobs,
    schemas,
    schema_versions,
    schema_version_files,
    schema_version_deps,
    events,
    tokens,
    sink_cursors,
    jobs,
    artifacts,
    restore_checkpoints,
);

diesel::table! {
    tokens (id) {
        id -> BigInt,
        name -> Text,
        secret_sha256 -> Text,
        roles -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sink_cursors (sink) {
        sink -> Text,
        last_event_id -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        namespace_id -> Nullable<BigInt>,
        namespace -> Text,
        schema -> Text,
        version_id -> Nullable<BigInt>,
        plugin -> Text,
        parameter -> Text,
        status -> Text,
        log -> Text,
        artifact_sha256 -> Nullable<Text>,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        source_id -> Nullable<BigInt>,
        git -> Nullable<Text>,
        lease_holder -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        verified -> Nullable<Bool>,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    artifacts (version_id, plugin, parameter) {
        version_id -> BigInt,
        plugin -> Text,
        parameter -> Text,
        blob_sha256 -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(jobs -> schema_versions (version_id));

diesel::table! {
    events_pruned (id) {
        id -> Integer,
        last_event_id -> BigInt,
        pruned_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        url -> Text,
        events -> Text,
        namespaces -> Text,
        secret -> Text,
        description -> Text,
        active -> Bool,
        last_event_id -> BigInt,
        created_at -> Timestamp,
        created_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        event_id -> BigInt,
        kind -> Text,
        namespace -> Text,
        payload -> Text,
        event_created_at -> Timestamp,
        status -> Text,
        attempts -> Integer,
        response_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> Nullable<BigInt>,
        next_attempt_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::allow_tables_to_appear_in_same_query!(webhooks, webhook_deliveries);

diesel::table! {
    sources (id) {
        id -> BigInt,
        namespace -> Text,
        url -> Text,
        url_key -> Text,
        branch -> Text,
        root -> Text,
        layout -> Text,
        schemas -> Text,
        auto_promote -> Bool,
        secret -> Nullable<Text>,
        service -> Nullable<Text>,
        service_domain -> Nullable<Text>,
        synced_schemas -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
diesel::allow_tables_to_appear_in_same_query!(sources, jobs);
