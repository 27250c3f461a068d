{#- Population stability, per model version and as_of, against the reference bins a version
    stored at training time (mlmodels.drift, fitted on the train split only).

    Shares are (count + 1e-8) / n per side and psi = sum((cur - ref) * ln(cur / ref)): the
    reference definition in mlmodels.drift.psi. Numeric buckets are [lower_edge, upper_edge) with
    outer edges at -inf / +inf (numpy.histogram's rule) over non-null values; nulls are reported
    beside the PSI as null_share. Categorical PSI is over the categories seen in training, and
    unseen_share reports the rest: with smoothing alone an unseen category would dominate.

    feature_psi: every feature of the version, over the rows the version scored at each as_of
    (`scores` given) or, without scores, over every row after the version's training window.
    The feature list comes from the reference bins at run time, so the spec stays the one place
    that names features.
    prediction_psi: the score distribution at each as_of against the version's scores of its
    test split (bins of feature_type 'prediction'). -#}
{% macro feature_psi(reference_bins, registry, rows, model_name, as_of_col='as_of_date',
                     moderate=0.1, drift=0.2, scores=none, entity_key=none) -%}
    {{ return(adapter.dispatch('feature_psi', 'mlmodels')(
        reference_bins, registry, rows, model_name, as_of_col, moderate, drift, scores,
        entity_key)) }}
{%- endmacro %}

{% macro default__feature_psi(reference_bins, registry, rows, model_name, as_of_col, moderate,
                              drift, scores=none, entity_key=none) -%}
{%- set features = [] -%}
{%- if execute -%}
    {%- set found = run_query(
        "select distinct feature, feature_type from " ~ reference_bins
        ~ " where model_name = '" ~ model_name ~ "'"
        ~ " and feature_type in ('numeric', 'categorical') order by feature") -%}
    {#- Only features the rows still have: an older version's feature may have left the mart. -#}
    {%- set present = adapter.get_columns_in_relation(rows) | map(attribute='name') | list -%}
    {%- set features = found.rows | selectattr(0, 'in', present) | list -%}
{%- endif -%}
{%- if scores is not none %}
    {%- set current_rows -%}
    {#- A snapshot model's rows may carry no snapshot_date: they are this build's snapshot. #}
    select scored.model_version,
        {%- if execute and as_of_col | lower not in present | map('lower') | list %}
        scored.{{ as_of_col }},
        {%- endif %}
        rows_in.*
    from {{ rows }} as rows_in
    inner join (
        select distinct model_version, {{ entity_key }}, {{ as_of_col }} from {{ scores }}
        where model_name = '{{ model_name }}'
    ) as scored
        on {{ mlmodels.scored_rows_join('scored', 'rows_in', rows, entity_key, as_of_col) }}
    {%- endset %}
{%- else %}
    {%- set current_rows -%}
    select versions.model_version, rows_in.*
    from {{ rows }} as rows_in
    inner join (
        select model_version, train_to from {{ registry }} where model_name = '{{ model_name }}'
    ) as versions
        on rows_in.{{ as_of_col }} > versions.train_to
    {%- endset %}
{%- endif %}
{{ mlmodels.psi_over_bins(reference_bins, current_rows, features, model_name, as_of_col,
                          moderate, drift, ['numeric', 'categorical']) }}
{%- endmacro %}


{% macro prediction_psi(reference_bins, scores, model_name, as_of_col='as_of_date',
                        moderate=0.1, drift=0.2) -%}
    {{ return(adapter.dispatch('prediction_psi', 'mlmodels')(
        reference_bins, scores, model_name, as_of_col, moderate, drift)) }}
{%- endmacro %}

{% macro default__prediction_psi(reference_bins, scores, model_name, as_of_col, moderate,
                                 drift) -%}
{%- set current_rows -%}
    select model_version, {{ as_of_col }}, score
    from {{ scores }}
    where model_name = '{{ model_name }}'
{%- endset -%}
{{ mlmodels.psi_over_bins(reference_bins, current_rows, [('score', 'prediction')], model_name,
                          as_of_col, moderate, drift, ['prediction']) }}
{%- endmacro %}


{#- The shared PSI arithmetic: `current_rows` (SQL with model_version, the as_of and the feature
    columns) binned against the bins of `features` ((name, feature_type) pairs; 'categorical'
    matches on the category, every other type on [lower_edge, upper_edge)). -#}
{% macro psi_over_bins(reference_bins, current_rows, features, model_name, as_of_col, moderate,
                       drift, feature_types) -%}
{%- if features | length == 0 %}
select
    cast(null as {{ dbt.type_string() }}) as model_name, cast(null as {{ dbt.type_string() }}) as model_version,
    cast(null as {{ dbt.type_string() }}) as feature, cast(null as {{ dbt.type_string() }}) as feature_type,
    cast(null as date) as {{ as_of_col }}, cast(null as double) as psi,
    cast(null as {{ dbt.type_string() }}) as status, cast(null as bigint) as reference_total,
    cast(null as bigint) as current_total, cast(null as double) as null_share,
    cast(null as double) as unseen_share
where false
{%- else %}
with bins as (
    select * from {{ reference_bins }}
    where model_name = '{{ model_name }}'
        and feature_type in ('{{ feature_types | join("', '") }}')
),

current_rows as (
    {{ current_rows }}
),

{#- One row per version holding every bin's upper edge (numeric) or category (categorical) as a
    column: the rows are then binned by comparisons in one aggregate, with no range join. -#}
{%- set widths = {} -%}
{%- if execute -%}
    {%- for feature, width in run_query(
            "select feature, max(bin_index) + 1 from " ~ reference_bins
            ~ " where model_name = '" ~ model_name ~ "' group by feature").rows -%}
        {%- do widths.update({feature: width | int}) -%}
    {%- endfor -%}
{%- endif %}
bin_columns as (
    select
        model_version
        {%- for feature, feature_type in features %}
        {%- set f = loop.index0 %}
        {%- for k in range(widths.get(feature, 0)) %},
        max(case when feature = '{{ feature }}' and bin_index = {{ k }}
            then {{ 'category' if feature_type == 'categorical' else 'upper_edge' }} end)
            as bin_{{ f }}_{{ k }}
        {%- endfor %}
        {%- endfor %}
    from bins
    group by model_version
),

{#- One pass over the rows: per version and as_of, the row count, each feature's non-null count,
    and for each bin the values below its upper edge (numeric: cumulative, so bin k holds
    below(k) - below(k - 1), which is [lower_edge, upper_edge) because the bins are contiguous
    from -inf) or equal to its category. -#}
tallies as (
    select
        current_rows.model_version,
        current_rows.{{ as_of_col }},
        count(*) as row_count
        {%- for feature, feature_type in features %}
        {%- set f = loop.index0 %},
        count(current_rows.{{ adapter.quote(feature) }}) as non_null_{{ f }}
        {%- for k in range(widths.get(feature, 0)) %},
        {%- if feature_type == 'categorical' %}
        count(case when cast(current_rows.{{ adapter.quote(feature) }} as {{ dbt.type_string() }})
            = bin_columns.bin_{{ f }}_{{ k }} then 1 end) as tally_{{ f }}_{{ k }}
        {%- else %}
        count(case when current_rows.{{ adapter.quote(feature) }}
            < bin_columns.bin_{{ f }}_{{ k }} then 1 end) as tally_{{ f }}_{{ k }}
        {%- endif %}
        {%- endfor %}
        {%- endfor %}
    from current_rows
    inner join bin_columns on bin_columns.model_version = current_rows.model_version
    group by current_rows.model_version, current_rows.{{ as_of_col }}
),

{#- Each bin of each feature beside its tallies: one join of the small tallies with the bins, so
    the rows are aggregated once (an engine that inlines CTEs, as Spark does, would scan them
    again for every reference to `tallies`). -#}
shares as (
    select
        tallies.model_version,
        bins.feature,
        bins.feature_type,
        tallies.{{ as_of_col }},
        bins.reference_total,
        tallies.row_count,
        case bins.feature
            {%- for feature, feature_type in features %}
            when '{{ feature }}' then tallies.non_null_{{ loop.index0 }}
            {%- endfor %}
        end as non_null_count,
        (bins.reference_count + 1e-8) / bins.reference_total as reference_share,
        case
            {%- for feature, feature_type in features %}
            {%- set f = loop.index0 %}
            {%- for k in range(widths.get(feature, 0)) %}
            when bins.feature = '{{ feature }}' and bins.bin_index = {{ k }}
                then tally_{{ f }}_{{ k }}
                {%- if feature_type != 'categorical' and k > 0 %} - tally_{{ f }}_{{ k - 1 }}{% endif %}
            {%- endfor %}
            {%- endfor %}
        end as current_count
    from tallies
    inner join bins on bins.model_version = tallies.model_version
    where bins.feature in ('{{ features | map(attribute=0) | join("', '") }}')
),

binned as (
    select
        shares.*,
        sum(current_count)
            over (partition by model_version, feature, {{ as_of_col }}) as binned_count
    from shares
),

psi as (
    select
        model_version,
        feature,
        feature_type,
        {{ as_of_col }},
        max(reference_total) as reference_total,
        max(binned_count) as current_total,
        max(1.0 - non_null_count * 1.0 / nullif(row_count, 0)) as null_share,
        max(1.0 - binned_count * 1.0 / nullif(non_null_count, 0)) as unseen_share,
        sum(
            ((current_count + 1e-8) / nullif(binned_count, 0) - reference_share)
            * ln(((current_count + 1e-8) / nullif(binned_count, 0)) / reference_share)
        ) as psi
    from binned
    group by model_version, feature, feature_type, {{ as_of_col }}
)

select
    '{{ model_name }}' as model_name,
    model_version,
    feature,
    feature_type,
    {{ as_of_col }},
    psi,
    case
        when psi is null then null
        when psi < {{ moderate }} then 'stable'
        when psi < {{ drift }} then 'moderate'
        else 'drift'
    end as status,
    reference_total,
    current_total,
    null_share,
    case when feature_type = 'categorical' then unseen_share end as unseen_share
from psi
{%- endif %}
{%- endmacro %}
